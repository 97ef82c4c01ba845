-- Training and outreach sessions logged by teams. Attendance is counts only (no names, no ID numbers).
-- Deleting keeps a tombstone (deleted_at) so offline phones learn about it when they sync.
CREATE TABLE training_sessions (
    id                               uuid PRIMARY KEY,
    team_id                          uuid NOT NULL REFERENCES teams (id),
    org_unit_id                      uuid NOT NULL REFERENCES org_units (id),
    kind                             text NOT NULL CHECK (kind IN ('training', 'outreach')),
    held_on                          date NOT NULL,
    start_time                       time,
    duration_minutes                 integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
    format                           text NOT NULL CHECK (format IN ('in_person', 'door_to_door', 'online', 'mixed')),
    venue                            text CHECK (length(venue) <= 200),
    topics                           text[] NOT NULL CHECK (cardinality(topics) >= 1),
    participants_total               integer NOT NULL CHECK (participants_total >= 0),
    participants_female              integer NOT NULL CHECK (participants_female >= 0),
    participants_ethnic_minority     integer NOT NULL CHECK (participants_ethnic_minority >= 0),
    participants_elderly             integer NOT NULL CHECK (participants_elderly >= 0),
    households_reached               integer NOT NULL CHECK (households_reached >= 0),
    vneid_activations                integer NOT NULL CHECK (vneid_activations >= 0),
    payment_accounts_opened          integer NOT NULL CHECK (payment_accounts_opened >= 0),
    public_service_accounts_created  integer NOT NULL CHECK (public_service_accounts_created >= 0),
    online_dossiers_submitted        integer NOT NULL CHECK (online_dossiers_submitted >= 0),
    apps_installed                   integer NOT NULL CHECK (apps_installed >= 0),
    trainers                         uuid[] NOT NULL DEFAULT '{}',
    notes                            text CHECK (length(notes) <= 2000),
    recorded_at                      timestamptz,
    status                           text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'verified', 'rejected')),
    reviewed_by                      uuid REFERENCES users (id),
    reviewed_at                      timestamptz,
    rejection_reason                 text,
    created_by                       uuid REFERENCES users (id),
    deleted_at                       timestamptz,
    version                          integer NOT NULL DEFAULT 1,
    created_at                       timestamptz NOT NULL DEFAULT now(),
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    CHECK (participants_female <= participants_total),
    CHECK (participants_ethnic_minority <= participants_total),
    CHECK (participants_elderly <= participants_total)
);
CREATE INDEX training_sessions_team_idx ON training_sessions (team_id, held_on DESC);
CREATE INDEX training_sessions_unit_idx ON training_sessions (org_unit_id, held_on DESC);
CREATE INDEX training_sessions_held_idx ON training_sessions (held_on DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX training_sessions_updated_idx ON training_sessions (updated_at, id);
CREATE TRIGGER training_sessions_updated_at BEFORE UPDATE ON training_sessions
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
