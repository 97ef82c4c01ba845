-- What a team did for a campaign and how many it reached, each kind of count kept apart with how it was
-- counted and how sure the team is. Deleting keeps a tombstone for sync.
CREATE TABLE reach_activities (
    id                     uuid PRIMARY KEY,
    campaign_id            uuid NOT NULL REFERENCES campaigns (id),
    team_id                uuid NOT NULL REFERENCES teams (id),
    org_unit_id            uuid NOT NULL REFERENCES org_units (id),
    channel                text NOT NULL CHECK (channel IN ('loudspeaker', 'mobile_loudspeaker', 'zalo_group',
                               'social_media', 'meeting', 'door_to_door', 'leaflet', 'video', 'online_course', 'other')),
    occurred_on            date NOT NULL,
    contacts               integer NOT NULL CHECK (contacts >= 0),
    unique_people          integer CHECK (unique_people >= 0),
    households_reached     integer NOT NULL CHECK (households_reached >= 0),
    estimated_audience     integer CHECK (estimated_audience >= 0),
    method                 text NOT NULL CHECK (method IN ('headcount', 'attendance_sheet', 'group_member_count',
                               'coverage_estimate', 'platform_analytics', 'other')),
    confidence             text NOT NULL CHECK (confidence IN ('low', 'medium', 'high')),
    skill_groups           text[] NOT NULL DEFAULT '{}',
    fraud_types            text[] NOT NULL DEFAULT '{}',
    materials_distributed  integer NOT NULL DEFAULT 0 CHECK (materials_distributed >= 0),
    session_id             uuid REFERENCES training_sessions (id),
    notes                  text CHECK (length(notes) <= 2000),
    recorded_at            timestamptz,
    status                 text NOT NULL DEFAULT 'submitted' CHECK (status IN ('submitted', 'verified', 'rejected')),
    reviewed_by            uuid REFERENCES users (id),
    reviewed_at            timestamptz,
    rejection_reason       text,
    created_by             uuid REFERENCES users (id),
    deleted_at             timestamptz,
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reach_activities_campaign_idx ON reach_activities (campaign_id, occurred_on DESC, id DESC);
CREATE INDEX reach_activities_team_idx ON reach_activities (team_id, occurred_on DESC);
CREATE INDEX reach_activities_unit_idx ON reach_activities (org_unit_id);
CREATE INDEX reach_activities_updated_idx ON reach_activities (updated_at, id);
CREATE TRIGGER reach_activities_updated_at BEFORE UPDATE ON reach_activities
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
