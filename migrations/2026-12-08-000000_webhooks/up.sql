-- Signed webhooks (issue 19): subscriptions, the transactional outbox of events and one delivery row per
-- event and subscription. Events are written by triggers in the transaction of the change they describe
-- (whichever path made it: HTTP, imports, sync push, bulk review), so a rolled-back write emits nothing. The
-- dispatcher fans committed events out to the subscriptions (cdt_webhook_fan_out), off the write path.

-- Time-ordered ids (UUID version 7: milliseconds since the epoch, then random bits), so lists by id are
-- newest first.
CREATE FUNCTION cdt_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                  PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                  FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

CREATE TABLE webhook_subscriptions (
    id                         uuid PRIMARY KEY,
    owner_id                   uuid NOT NULL REFERENCES users (id),
    url                        text NOT NULL,
    -- Event types, or '{*}' for every type.
    event_types                text[] NOT NULL CHECK (cardinality(event_types) > 0),
    description                text,
    enabled                    boolean NOT NULL DEFAULT true,
    -- Why it was disabled by the dispatcher (410 Gone, days of failures); NULL when enabled or disabled by hand.
    disabled_reason            text,
    -- The signing secret is derived from WEBHOOK_SECRET_KEY and this random salt: a dump alone cannot sign.
    secret_salt                bytea NOT NULL,
    -- The secret before the last rotation, also signed with until `previous_secret_expires_at`.
    previous_secret_salt       bytea,
    previous_secret_expires_at timestamptz,
    -- Start of the current run of failed attempts (NULL after a success).
    failing_since              timestamptz,
    version                    integer NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_owner_idx ON webhook_subscriptions (owner_id);

CREATE SEQUENCE cdt_webhook_event_seq;
CREATE TABLE webhook_events (
    id          uuid PRIMARY KEY,
    -- Commit order of one record's events: a later change to a record waits for the row lock of the earlier
    -- one, so it takes a larger number.
    seq         bigint NOT NULL DEFAULT nextval('cdt_webhook_event_seq'),
    type        text NOT NULL,
    record_id   uuid,
    -- Whose scope it is in: the materialised path of the record's unit ('' = everyone's).
    unit_path   text NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    -- The record as stored (its endpoint's response is derived from it at delivery), or its tombstone.
    data        jsonb NOT NULL,
    -- Set once the dispatcher has queued its deliveries.
    fanned_out  boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_events_time_idx ON webhook_events (occurred_at, seq);
CREATE INDEX webhook_events_unfanned_idx ON webhook_events (seq) WHERE NOT fanned_out;

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    record_id       uuid,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Claimed by a dispatcher until then (one instance at a time; a crashed one's claim expires).
    leased_until    timestamptz,
    last_attempt_at timestamptz,
    last_status     integer,
    last_latency_ms integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (subscription_id, seq) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_record_idx ON webhook_deliveries (subscription_id, record_id, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Which enabled subscription receives which event: its type list names the event's type (or `*`) and its
-- active owner sees the event's unit (admins everything; officers their subtree; '' is everyone's, '-'
-- admins' only). Pings are queued for their one subscription by the test operation, never here. Both the
-- fan-out and a replay read this.
CREATE VIEW webhook_recipients AS
SELECT s.id AS subscription_id, e.id AS event_id, e.seq, e.record_id, e.occurred_at
FROM webhook_events e
JOIN webhook_subscriptions s ON s.enabled AND (s.event_types @> ARRAY['*'] OR s.event_types @> ARRAY[e.type])
JOIN users u ON u.id = s.owner_id AND u.status = 'active'
LEFT JOIN org_units scope ON scope.id = u.org_unit_id
WHERE e.type <> 'ping'
  AND (u.role = 'admin' OR (u.role = 'officer' AND (e.unit_path = '' OR e.unit_path LIKE scope.path || '%')));

-- Queues the deliveries of up to p_limit committed events not fanned out yet, in event order, to their
-- recipients. One fan-out at a time (an advisory lock), so deliveries appear in event order whatever the
-- number of instances. Returns the number of events fanned out (0 when another instance holds the lock or
-- nothing waits).
CREATE FUNCTION cdt_webhook_fan_out(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_count integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('cdt_webhook_fan_out')) THEN
        RETURN 0;
    END IF;
    WITH batch AS (
        SELECT id FROM webhook_events WHERE NOT fanned_out ORDER BY seq LIMIT p_limit
    ), marked AS (
        UPDATE webhook_events e SET fanned_out = true FROM batch WHERE e.id = batch.id
        RETURNING e.id
    ), queued AS (
        INSERT INTO webhook_deliveries (id, subscription_id, event_id, seq, record_id)
        SELECT cdt_uuid_v7(), r.subscription_id, r.event_id, r.seq, r.record_id
        FROM marked m JOIN webhook_recipients r ON r.event_id = m.id
        ORDER BY r.seq
        RETURNING 1
    )
    -- (Data-modifying CTEs run to completion whether read or not.)
    SELECT count(*) INTO v_count FROM marked;
    RETURN v_count;
END;
$$;

-- Records one change per row of a statement on training sessions or reach activities, from its transition
-- tables: created, deleted (soft), verified, rejected, or updated.
CREATE FUNCTION cdt_webhook_records_statement() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER training_sessions_webhook_insert AFTER INSERT ON training_sessions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_webhook_records_statement();
CREATE TRIGGER training_sessions_webhook_update AFTER UPDATE ON training_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_webhook_records_statement();
CREATE TRIGGER reach_activities_webhook_insert AFTER INSERT ON reach_activities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_webhook_records_statement();
CREATE TRIGGER reach_activities_webhook_update AFTER UPDATE ON reach_activities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_webhook_records_statement();

-- A sign-off's transitions: submitted, accepted, returned, reopened; the data is the month's sign-off row
-- after the transition (its endpoint's shape is derived at delivery).
CREATE FUNCTION cdt_webhook_sign_off() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (id, type, record_id, unit_path, data)
    SELECT cdt_uuid_v7(),
           'sign_off.' || CASE NEW.action WHEN 'submit' THEN 'submitted' WHEN 'accept' THEN 'accepted'
                                          WHEN 'return' THEN 'returned' ELSE 'reopened' END,
           s.id, u.path, to_jsonb(s)
    FROM sign_offs s JOIN org_units u ON u.id = s.org_unit_id
    WHERE s.id = NEW.sign_off_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sign_off_transitions_webhook AFTER INSERT ON sign_off_transitions
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_sign_off();

-- Whose scope a record of the lower-volume tables is in ('' everyone's; '-' nobody's but admins').
CREATE FUNCTION cdt_webhook_path(p_entity text, p_row jsonb) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(CASE p_entity
        WHEN 'campaign' THEN ''
        WHEN 'org_unit' THEN p_row->>'path'
        WHEN 'team' THEN (SELECT u.path FROM org_units u WHERE u.id = (p_row->>'org_unit_id')::uuid)
        WHEN 'indicator_value' THEN (SELECT u.path FROM org_units u WHERE u.id = (p_row->>'org_unit_id')::uuid)
        WHEN 'membership' THEN cdt_team_path((p_row->>'team_id')::uuid)
        WHEN 'target' THEN coalesce(cdt_team_path((p_row->>'team_id')::uuid),
                                    (SELECT u.path FROM org_units u WHERE u.id = (p_row->>'org_unit_id')::uuid))
        -- A person is in the scope of the unit of their latest team.
        WHEN 'person' THEN (SELECT cdt_team_path(m.team_id) FROM memberships m
                            WHERE m.person_id = (p_row->>'id')::uuid
                            ORDER BY m.left_on IS NULL DESC, m.joined_on DESC LIMIT 1)
        END, '-')
$$;

-- One event per changed row of teams, memberships, people, campaigns, targets, indicator values and org
-- units (TG_ARGV[0] names the entity): created, updated, deleted, and person.erased.
CREATE FUNCTION cdt_webhook_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_entity text := TG_ARGV[0];
    v_type text;
    v_row jsonb;
    v_data jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        v_row := to_jsonb(OLD);
        v_type := v_entity || '.deleted';
        v_data := jsonb_build_object('id', OLD.id, 'deleted', true, 'deleted_at', now(), 'version', OLD.version);
    ELSE
        v_row := to_jsonb(NEW);
        v_data := v_row;
        IF TG_OP = 'INSERT' THEN
            v_type := v_entity || '.created';
        ELSIF v_row = to_jsonb(OLD) THEN
            RETURN NULL; -- rewritten without a change
        ELSIF v_entity = 'person' AND v_row->>'erased_at' IS NOT NULL AND to_jsonb(OLD)->>'erased_at' IS NULL THEN
            v_type := 'person.erased';
        ELSE
            v_type := v_entity || '.updated';
        END IF;
    END IF;
    INSERT INTO webhook_events (id, type, record_id, unit_path, data)
    VALUES (cdt_uuid_v7(), v_type, (v_row->>'id')::uuid, cdt_webhook_path(v_entity, v_row), v_data);
    RETURN NULL;
END;
$$;

CREATE TRIGGER teams_webhook AFTER INSERT OR UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('team');
CREATE TRIGGER memberships_webhook AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('membership');
CREATE TRIGGER people_webhook AFTER INSERT OR UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('person');
CREATE TRIGGER campaigns_webhook AFTER INSERT OR UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('campaign');
CREATE TRIGGER targets_webhook AFTER INSERT OR UPDATE OR DELETE ON targets
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('target');
CREATE TRIGGER indicator_values_webhook AFTER INSERT OR UPDATE ON indicator_values
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('indicator_value');
CREATE TRIGGER org_units_webhook AFTER INSERT OR UPDATE ON org_units
    FOR EACH ROW EXECUTE FUNCTION cdt_webhook_row('org_unit');

-- A reorganisation: one event per successor and day, after its succession rows are written (the data is
-- the successor as the reorganisation's response shows it, with its predecessors).
CREATE FUNCTION cdt_webhook_reorganized() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE enabled) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (id, type, record_id, unit_path, data)
        SELECT cdt_uuid_v7(), 'org_unit.reorganized', n.successor_id, coalesce(u.path, '-'),
               jsonb_build_object('id', n.successor_id, 'effective_on', n.effective_on,
                                  'predecessor_ids', n.predecessors)
        FROM (SELECT successor_id, effective_on, jsonb_agg(predecessor_id ORDER BY predecessor_id) AS predecessors
              FROM new_rows GROUP BY successor_id, effective_on) n
        LEFT JOIN org_units u ON u.id = n.successor_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER org_unit_successions_webhook AFTER INSERT ON org_unit_successions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cdt_webhook_reorganized();
