-- Every response that showed a full phone number: who read whose, when (Law 91/2025/QH15).
CREATE TABLE personal_data_reads (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    reader_id   uuid NOT NULL REFERENCES users (id),
    person_id   uuid NOT NULL REFERENCES people (id),
    fields      text NOT NULL,
    request_id  text
);
CREATE INDEX personal_data_reads_at_idx ON personal_data_reads (at DESC, id DESC);
CREATE INDEX personal_data_reads_person_idx ON personal_data_reads (person_id, at DESC);
CREATE INDEX personal_data_reads_reader_idx ON personal_data_reads (reader_id, at DESC);
