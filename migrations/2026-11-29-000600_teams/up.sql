-- Community digital technology teams (Tổ công nghệ số cộng đồng). Never hard-deleted: dissolved teams keep
-- their history.
CREATE TABLE teams (
    id                          uuid PRIMARY KEY,
    code                        text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
    name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    org_unit_id                 uuid NOT NULL REFERENCES org_units (id),
    status                      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'dissolved')),
    founded_on                  date,
    dissolved_on                date,
    dissolution_reason          text,
    establishment_decision      text CHECK (length(establishment_decision) <= 200),
    zalo_group_members          integer CHECK (zalo_group_members >= 0),
    zalo_group_members_as_of    date,
    notes                       text CHECK (length(notes) <= 2000),
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'dissolved') = (dissolved_on IS NOT NULL)),
    CHECK (dissolved_on IS NULL OR founded_on IS NULL OR dissolved_on >= founded_on),
    CHECK ((zalo_group_members IS NULL) = (zalo_group_members_as_of IS NULL))
);
CREATE UNIQUE INDEX teams_code_key ON teams (lower(code));
CREATE INDEX teams_org_unit_idx ON teams (org_unit_id);
CREATE INDEX teams_name_fold_idx ON teams (cdt_fold(name));
CREATE TRIGGER teams_updated_at BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();

-- Which unit a team served when: a reorganisation moves teams to the successor from its date, and older
-- activity still reports under the unit of its day.
CREATE TABLE team_units (
    team_id      uuid NOT NULL REFERENCES teams (id),
    org_unit_id  uuid NOT NULL REFERENCES org_units (id),
    valid_from   date NOT NULL,
    valid_to     date,
    PRIMARY KEY (team_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX team_units_current_key ON team_units (team_id) WHERE valid_to IS NULL;
CREATE INDEX team_units_org_unit_idx ON team_units (org_unit_id);

-- A team leader's account belongs to one team.
ALTER TABLE users ADD CONSTRAINT users_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id);
