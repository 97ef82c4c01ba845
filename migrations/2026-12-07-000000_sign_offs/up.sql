-- Monthly sign-off (báo cáo tháng): each commune-level unit submits its month, the province accepts or returns
-- it, an admin may reopen an accepted month. A unit-month without a row is `open`. The month of a record is
-- the month of its day, and its unit is the commune its team served that day (`cdt_team_unit_on`), so after
-- a reorganisation the predecessors keep their months and the successor's start with its own.
CREATE TABLE sign_offs (
    id            uuid PRIMARY KEY,
    org_unit_id   uuid NOT NULL REFERENCES org_units (id),
    -- The first day of the month.
    period        date NOT NULL CHECK (period = date_trunc('month', period)::date),
    state         text NOT NULL CHECK (state IN ('open', 'submitted', 'accepted', 'returned')),
    -- The submitting officer's note, and why the month was last returned or reopened.
    note          text CHECK (length(note) <= 2000),
    reason        text CHECK (length(reason) <= 2000),
    submitted_by  uuid REFERENCES users (id),
    submitted_at  timestamptz,
    decided_by    uuid REFERENCES users (id),
    decided_at    timestamptz,
    -- The unit-month's figures at the last transition.
    figures       jsonb NOT NULL DEFAULT '{}'::jsonb,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_unit_id, period)
);
CREATE INDEX sign_offs_period_idx ON sign_offs (period, state);
CREATE TRIGGER sign_offs_updated_at BEFORE UPDATE ON sign_offs
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();

-- Every transition: who, when, why and the figures at that moment (also in the audit log).
CREATE TABLE sign_off_transitions (
    id           uuid PRIMARY KEY,
    sign_off_id  uuid NOT NULL REFERENCES sign_offs (id),
    action       text NOT NULL CHECK (action IN ('submit', 'accept', 'return', 'reopen')),
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    actor_id     uuid REFERENCES users (id),
    at           timestamptz NOT NULL DEFAULT now(),
    comment      text CHECK (length(comment) <= 2000),
    figures      jsonb NOT NULL
);
CREATE INDEX sign_off_transitions_sign_off_idx ON sign_off_transitions (sign_off_id, at);

-- The sign-off state of the month of `p_day` for the commune `p_team` served that day (NULL: open).
CREATE FUNCTION cdt_sign_off_state(p_team uuid, p_day date) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT s.state FROM cdt_team_unit_on(p_team, p_day) u
    JOIN sign_offs s ON s.org_unit_id = u.commune_id AND s.period = date_trunc('month', p_day)::date
$$;
