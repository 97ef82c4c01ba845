-- The change feed offline phones pull: one row per synced record, rewritten by every change to it, ordered by
-- (txid, seq). `txid` is the writing transaction's id; a reader only takes rows of transactions older than
-- the oldest one of this database still running, so a transaction that began earlier but commits later can
-- never be skipped: its rows are withheld until it ends, and every later reader starts below it.
CREATE SEQUENCE cdt_change_seq;
CREATE TABLE changes (
    entity     text NOT NULL CHECK (entity IN ('org_unit', 'campaign', 'team', 'membership', 'training_session',
                                                'reach_activity')),
    record_id  uuid NOT NULL,
    txid       bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    seq        bigint NOT NULL DEFAULT nextval('cdt_change_seq'),
    -- Who may see it: the team of team records, the materialised path of the record's unit.
    team_id    uuid,
    unit_path  text NOT NULL,
    deleted    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (entity, record_id)
);
CREATE INDEX changes_order_idx ON changes (txid, seq);
CREATE INDEX changes_team_idx ON changes (team_id, txid, seq) WHERE team_id IS NOT NULL;
CREATE INDEX changes_shared_idx ON changes (entity, txid, seq) WHERE team_id IS NULL;
CREATE INDEX changes_path_idx ON changes (unit_path text_pattern_ops);

CREATE FUNCTION cdt_record_change(p_entity text, p_id uuid, p_team uuid, p_path text, p_deleted boolean)
    RETURNS void LANGUAGE sql AS $$
    INSERT INTO changes (entity, record_id, team_id, unit_path, deleted)
    VALUES (p_entity, p_id, p_team, coalesce(p_path, ''), p_deleted)
    ON CONFLICT (entity, record_id) DO UPDATE SET
        txid = pg_current_xact_id()::text::bigint, seq = nextval('cdt_change_seq'),
        team_id = EXCLUDED.team_id, unit_path = EXCLUDED.unit_path, deleted = EXCLUDED.deleted
$$;

-- The path of a team's unit.
CREATE FUNCTION cdt_team_path(p_team uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT u.path FROM teams t JOIN org_units u ON u.id = t.org_unit_id WHERE t.id = p_team
$$;

CREATE FUNCTION cdt_change_org_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('org_unit', NEW.id, NULL, NEW.path, false);
    RETURN NULL;
END;
$$;
CREATE TRIGGER org_units_change AFTER INSERT OR UPDATE ON org_units
    FOR EACH ROW EXECUTE FUNCTION cdt_change_org_unit();

CREATE FUNCTION cdt_change_campaign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('campaign', NEW.id, NULL, '', false);
    RETURN NULL;
END;
$$;
CREATE TRIGGER campaigns_change AFTER INSERT OR UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION cdt_change_campaign();

CREATE FUNCTION cdt_change_team() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('team', NEW.id, NEW.id, cdt_team_path(NEW.id), false);
    -- A team that moved takes its records into the feed of its new unit.
    IF TG_OP = 'UPDATE' AND OLD.org_unit_id IS DISTINCT FROM NEW.org_unit_id THEN
        PERFORM cdt_record_change(c.entity, c.record_id, c.team_id, cdt_team_path(NEW.id), c.deleted)
        FROM changes c WHERE c.team_id = NEW.id AND c.entity <> 'team';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER teams_change AFTER INSERT OR UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION cdt_change_team();

CREATE FUNCTION cdt_change_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('membership', NEW.id, NEW.team_id, cdt_team_path(NEW.team_id), false);
    RETURN NULL;
END;
$$;
CREATE TRIGGER memberships_change AFTER INSERT OR UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION cdt_change_membership();

-- A person's name or phone shows in their memberships.
CREATE FUNCTION cdt_change_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('membership', m.id, m.team_id, cdt_team_path(m.team_id), false)
    FROM memberships m WHERE m.person_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER people_change AFTER UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION cdt_change_person();

CREATE FUNCTION cdt_change_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('training_session', NEW.id, NEW.team_id, cdt_team_path(NEW.team_id),
                              NEW.deleted_at IS NOT NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER training_sessions_change AFTER INSERT OR UPDATE ON training_sessions
    FOR EACH ROW EXECUTE FUNCTION cdt_change_session();

CREATE FUNCTION cdt_change_reach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('reach_activity', NEW.id, NEW.team_id, cdt_team_path(NEW.team_id),
                              NEW.deleted_at IS NOT NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER reach_activities_change AFTER INSERT OR UPDATE ON reach_activities
    FOR EACH ROW EXECUTE FUNCTION cdt_change_reach();

-- What exists already enters the feed once.
INSERT INTO changes (entity, record_id, team_id, unit_path, deleted)
SELECT 'org_unit', id, NULL::uuid, path, false FROM org_units
UNION ALL SELECT 'campaign', id, NULL::uuid, '', false FROM campaigns
UNION ALL SELECT 'team', t.id, t.id, u.path, false FROM teams t JOIN org_units u ON u.id = t.org_unit_id
UNION ALL SELECT 'membership', m.id, m.team_id, u.path, false
    FROM memberships m JOIN teams t ON t.id = m.team_id JOIN org_units u ON u.id = t.org_unit_id
UNION ALL SELECT 'training_session', s.id, s.team_id, u.path, s.deleted_at IS NOT NULL
    FROM training_sessions s JOIN teams t ON t.id = s.team_id JOIN org_units u ON u.id = t.org_unit_id
UNION ALL SELECT 'reach_activity', r.id, r.team_id, u.path, r.deleted_at IS NOT NULL
    FROM reach_activities r JOIN teams t ON t.id = r.team_id JOIN org_units u ON u.id = t.org_unit_id;

-- Pushed edits that met a newer server version: kept with both sides until someone resolves them.
CREATE TABLE sync_conflicts (
    id              uuid PRIMARY KEY,
    entity          text NOT NULL CHECK (entity IN ('training_session', 'reach_activity', 'membership')),
    record_id       uuid NOT NULL,
    op              text NOT NULL CHECK (op IN ('upsert', 'delete')),
    team_id         uuid NOT NULL REFERENCES teams (id),
    unit_path       text NOT NULL,
    pushed_by       uuid NOT NULL REFERENCES users (id),
    base_version    integer,
    server_version  integer NOT NULL,
    client_data     jsonb,
    server_data     jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution      text CHECK (resolution IN ('keep_server', 'take_client', 'merged')),
    resolved_by     uuid REFERENCES users (id),
    resolved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (resolution IS NOT NULL))
);
CREATE INDEX sync_conflicts_team_idx ON sync_conflicts (team_id, created_at DESC);
CREATE INDEX sync_conflicts_path_idx ON sync_conflicts (unit_path text_pattern_ops);
CREATE INDEX sync_conflicts_record_idx ON sync_conflicts (entity, record_id) WHERE status = 'open';
