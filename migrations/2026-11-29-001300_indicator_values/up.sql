-- Values measured by national systems (online dossier rate, VNeID level-2 rate, DTI score), per unit and
-- period and source. Re-posting the same unit, indicator, period and source replaces the value.
CREATE TABLE indicator_values (
    id            uuid PRIMARY KEY,
    org_unit_id   uuid NOT NULL REFERENCES org_units (id),
    indicator     text NOT NULL CHECK (indicator IN ('online_dossier_rate_pct', 'vneid_level2_rate_pct', 'dti_score')),
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    value         double precision NOT NULL CHECK (value >= 0),
    source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
    as_of         date NOT NULL,
    recorded_by   uuid REFERENCES users (id),
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (period_end >= period_start)
);
CREATE UNIQUE INDEX indicator_values_key ON indicator_values (org_unit_id, indicator, period_start, period_end, source);
CREATE TRIGGER indicator_values_updated_at BEFORE UPDATE ON indicator_values
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
