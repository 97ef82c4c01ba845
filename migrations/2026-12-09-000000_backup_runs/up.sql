-- Every backup run (the `cdt-api backup` command and the server's schedule), so any instance can tell the
-- age of the last good backup (/metrics, /readyz) and several instances take a scheduled backup once.
CREATE TABLE backup_runs (
    id          uuid PRIMARY KEY DEFAULT cdt_uuid_v7(),
    -- The backup's directory name under BACKUP_DIR/base when one was written.
    name        text,
    trigger     text NOT NULL CHECK (trigger IN ('command', 'schedule')),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    succeeded   boolean NOT NULL,
    -- Restored into a throwaway cluster and compared: true (identical), false (a mismatch), null (not
    -- verified).
    verified    boolean,
    bytes       bigint CHECK (bytes >= 0),
    error       text,
    host        text NOT NULL,
    CHECK (succeeded = (error IS NULL))
);

CREATE INDEX backup_runs_finished ON backup_runs (finished_at DESC);
