-- Who did what, when, from where. Append-only; secrets are never written here.
CREATE TABLE audit_events (
    id           uuid PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     uuid REFERENCES users (id),
    actor_username text,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    uuid,
    -- Path of the org unit the entity belongs to, so officers can read the events of their subtree.
    org_unit_path text,
    changes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id   text,
    client_ip    text
);
CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_entity_idx ON audit_events (entity_type, entity_id, at DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at DESC);
CREATE INDEX audit_events_path_idx ON audit_events (org_unit_path text_pattern_ops);
