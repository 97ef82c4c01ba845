-- Evidence attached to sessions and reach activities (issue 20): resumable uploads (tus 1.0), stored
-- content-addressed files, and attachments tying a finished upload to a record.

-- A stored file, named by the SHA-256 of its bytes (after image metadata was removed): the same
-- photo sent twice is stored once. `thumbnail_sha256` names the JPEG rendition of an image.
CREATE TABLE blobs (
    sha256            text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type        text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    bytes             bigint NOT NULL CHECK (bytes > 0),
    width             integer,
    height            integer,
    captured_at       timestamp,
    thumbnail_sha256  text CHECK (thumbnail_sha256 ~ '^[0-9a-f]{64}$'),
    thumbnail_bytes   bigint,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- A tus upload. Its bytes arrive in parts stored under `uploads/<id>/` until `received = length`;
-- then they are checked, cleaned, stored as a blob and the parts removed.
CREATE TABLE uploads (
    id            uuid PRIMARY KEY,
    uploader_id   uuid NOT NULL REFERENCES users (id),
    -- The uploader's team when they lead one: its daily byte quota counts this upload.
    team_id       uuid REFERENCES teams (id),
    length        bigint NOT NULL CHECK (length > 0),
    -- Bytes received and stored so far (tus `Upload-Offset`).
    received      bigint NOT NULL DEFAULT 0,
    -- The storage keys of the received parts, in order (`uploads/<id>/<offset>-<random>`).
    parts         text[] NOT NULL DEFAULT '{}',
    file_name     text CHECK (char_length(file_name) <= 255),
    metadata      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    blob_sha256   text REFERENCES blobs (sha256),
    CHECK (received >= 0 AND received <= length),
    CHECK ((finished_at IS NULL) = (blob_sha256 IS NULL))
);
CREATE INDEX uploads_expires_idx ON uploads (expires_at);
CREATE INDEX uploads_team_day_idx ON uploads (team_id, created_at) WHERE team_id IS NOT NULL;
CREATE INDEX uploads_blob_idx ON uploads (blob_sha256) WHERE blob_sha256 IS NOT NULL;

CREATE TABLE attachments (
    id                   uuid PRIMARY KEY,
    training_session_id  uuid REFERENCES training_sessions (id),
    reach_activity_id    uuid REFERENCES reach_activities (id),
    team_id              uuid NOT NULL REFERENCES teams (id),
    upload_id            uuid NOT NULL UNIQUE REFERENCES uploads (id),
    blob_sha256          text NOT NULL REFERENCES blobs (sha256),
    kind                 text NOT NULL CHECK (kind IN ('attendance_sheet', 'photo', 'document')),
    caption              text CHECK (char_length(caption) <= 500),
    file_name            text CHECK (char_length(file_name) <= 255),
    uploaded_by          uuid NOT NULL REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    deleted_by           uuid REFERENCES users (id),
    CHECK (num_nonnulls(training_session_id, reach_activity_id) = 1)
);
CREATE INDEX attachments_session_idx ON attachments (training_session_id, created_at, id)
    WHERE training_session_id IS NOT NULL;
CREATE INDEX attachments_activity_idx ON attachments (reach_activity_id, created_at, id)
    WHERE reach_activity_id IS NOT NULL;
CREATE INDEX attachments_blob_idx ON attachments (blob_sha256);
CREATE INDEX attachments_deleted_idx ON attachments (deleted_at) WHERE deleted_at IS NOT NULL;

-- Downloads of an attachment's original are personal-data reads too (faces, names on a sign-in sheet).
ALTER TABLE personal_data_reads ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE personal_data_reads ADD COLUMN attachment_id uuid;  -- no foreign key: the log outlives a purged attachment
ALTER TABLE personal_data_reads ADD CONSTRAINT personal_data_reads_subject_check
    CHECK (person_id IS NOT NULL OR attachment_id IS NOT NULL);
CREATE INDEX personal_data_reads_attachment_idx ON personal_data_reads (attachment_id, at DESC)
    WHERE attachment_id IS NOT NULL;

-- An attachment added or deleted changes what a phone should know of its record: the record goes back
-- into the change feed (a sync pull then carries its attachments' metadata). Per statement, like the
-- records' own feed triggers.
CREATE FUNCTION cdt_change_attachments_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes AS c (entity, record_id, team_id, unit_path, deleted)
    SELECT x.entity, x.record_id, x.team_id, coalesce(u.path, ''), x.deleted
    FROM (
        SELECT 'training_session' AS entity, s.id AS record_id, s.team_id, s.deleted_at IS NOT NULL AS deleted
        FROM new_rows n JOIN training_sessions s ON s.id = n.training_session_id
        UNION
        SELECT 'reach_activity', r.id, r.team_id, r.deleted_at IS NOT NULL
        FROM new_rows n JOIN reach_activities r ON r.id = n.reach_activity_id
    ) x
    LEFT JOIN teams t ON t.id = x.team_id LEFT JOIN org_units u ON u.id = t.org_unit_id
    ORDER BY x.record_id
    ON CONFLICT (entity, record_id) DO UPDATE SET
        txid = pg_current_xact_id()::text::bigint, seq = nextval('cdt_change_seq'),
        team_id = EXCLUDED.team_id, unit_path = EXCLUDED.unit_path, deleted = EXCLUDED.deleted;
    RETURN NULL;
END;
$$;
CREATE TRIGGER attachments_change_insert AFTER INSERT ON attachments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_change_attachments_statement();
CREATE TRIGGER attachments_change_update AFTER UPDATE ON attachments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_change_attachments_statement();

-- A session's or reach activity's webhook data is the record as its endpoint shows it, which now
-- includes `attachment_count`.
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
        SELECT cdt_uuid_v7(), v_entity || '.created', n.id, coalesce(u.path, ''), to_jsonb(n) || jsonb_build_object('attachment_count', CASE WHEN v_entity = 'training_session'
                   THEN (SELECT count(*) FROM attachments a WHERE a.training_session_id = n.id AND a.deleted_at IS NULL)
                   ELSE (SELECT count(*) FROM attachments a WHERE a.reach_activity_id = n.id AND a.deleted_at IS NULL) END)
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
                        ELSE to_jsonb(n) || jsonb_build_object('attachment_count', CASE WHEN v_entity = 'training_session'
                   THEN (SELECT count(*) FROM attachments a WHERE a.training_session_id = n.id AND a.deleted_at IS NULL)
                   ELSE (SELECT count(*) FROM attachments a WHERE a.reach_activity_id = n.id AND a.deleted_at IS NULL) END) END
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
