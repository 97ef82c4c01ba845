CREATE OR REPLACE FUNCTION cdt_webhook_records_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_entity text := CASE TG_TABLE_NAME WHEN 'training_sessions' THEN 'training_session' ELSE 'reach_activity' END;
BEGIN
    -- Nobody subscribed at all: nothing to deliver, nothing to replay later (a replay goes back only as far
    -- as the subscription existed).
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO webhook_events (id, type, record_id, unit_path, data)
        SELECT cdt_uuid_v7(), v_entity || '.created', n.id, coalesce(u.path, ''), to_jsonb(n)
        FROM (SELECT * FROM new_rows ORDER BY id) n
        LEFT JOIN teams t ON t.id = n.team_id LEFT JOIN org_units u ON u.id = t.org_unit_id;
    ELSE
        INSERT INTO webhook_events (id, type, record_id, unit_path, data)
            SELECT cdt_uuid_v7(),
                   v_entity || CASE
                       WHEN n.deleted_at IS NOT NULL AND o.deleted_at IS NULL THEN '.deleted'
                       WHEN n.status IS DISTINCT FROM o.status AND n.status IN ('verified', 'rejected')
                           THEN '.' || n.status
                       ELSE '.updated' END,
                   n.id, coalesce(u.path, ''),
                   CASE WHEN n.deleted_at IS NOT NULL
                        THEN jsonb_build_object('id', n.id, 'deleted', true, 'deleted_at', n.deleted_at,
                                                'version', n.version)
                        ELSE to_jsonb(n) END
            FROM (SELECT * FROM new_rows ORDER BY id) n
            JOIN old_rows o ON o.id = n.id
            LEFT JOIN teams t ON t.id = n.team_id LEFT JOIN org_units u ON u.id = t.org_unit_id
            -- A row rewritten without a change (and a deleted one touched again) says nothing new.
            WHERE n.version IS DISTINCT FROM o.version OR n.status IS DISTINCT FROM o.status
                  OR n.deleted_at IS DISTINCT FROM o.deleted_at;
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER attachments_change_update ON attachments;
DROP TRIGGER attachments_change_insert ON attachments;
DROP FUNCTION cdt_change_attachments_statement();
DELETE FROM personal_data_reads WHERE person_id IS NULL;
DROP INDEX personal_data_reads_attachment_idx;
ALTER TABLE personal_data_reads DROP CONSTRAINT personal_data_reads_subject_check;
ALTER TABLE personal_data_reads DROP COLUMN attachment_id;
ALTER TABLE personal_data_reads ALTER COLUMN person_id SET NOT NULL;
DROP TABLE attachments;
DROP TABLE uploads;
DROP TABLE blobs;
