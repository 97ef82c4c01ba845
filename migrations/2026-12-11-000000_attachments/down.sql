DELETE FROM personal_data_reads WHERE person_id IS NULL;
DROP INDEX personal_data_reads_attachment_idx;
ALTER TABLE personal_data_reads DROP CONSTRAINT personal_data_reads_subject_check;
ALTER TABLE personal_data_reads DROP COLUMN attachment_id;
ALTER TABLE personal_data_reads ALTER COLUMN person_id SET NOT NULL;
DROP TABLE attachments;
DROP TABLE uploads;
DROP TABLE blobs;
