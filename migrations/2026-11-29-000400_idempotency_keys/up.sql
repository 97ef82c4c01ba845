-- Idempotency-Key records: the first response to a (user, key) is stored and replayed for 24 hours.
CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL REFERENCES users (id),
    key              text NOT NULL,
    request_hash     bytea NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status  smallint,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
