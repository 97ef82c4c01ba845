-- Targets (chỉ tiêu) the province assigns down the hierarchy, to a unit or to one team.
CREATE TABLE targets (
    id            uuid PRIMARY KEY,
    org_unit_id   uuid REFERENCES org_units (id),
    team_id       uuid REFERENCES teams (id),
    indicator     text NOT NULL CHECK (indicator IN ('sessions_held', 'people_trained', 'female_trained',
                      'ethnic_minority_trained', 'households_reached', 'vneid_activations', 'payment_accounts_opened',
                      'online_dossiers_submitted', 'campaign_contacts', 'campaign_household_coverage_pct',
                      'active_teams_pct', 'online_dossier_rate_pct', 'vneid_level2_rate_pct', 'dti_score')),
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    value         double precision NOT NULL CHECK (value >= 0),
    campaign_id   uuid REFERENCES campaigns (id),
    set_by        uuid REFERENCES users (id),
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start),
    CHECK ((org_unit_id IS NULL) <> (team_id IS NULL))
);
-- One target per holder, indicator, period and campaign.
CREATE UNIQUE INDEX targets_holder_key ON targets (
    coalesce(org_unit_id, team_id), indicator, period_start, period_end,
    coalesce(campaign_id, '00000000-0000-0000-0000-000000000000'::uuid));
CREATE INDEX targets_org_unit_idx ON targets (org_unit_id);
CREATE INDEX targets_team_idx ON targets (team_id);
CREATE TRIGGER targets_updated_at BEFORE UPDATE ON targets
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
