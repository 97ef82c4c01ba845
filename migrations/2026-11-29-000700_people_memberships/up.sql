-- People who serve in teams, and their memberships over time. Names and phone numbers are personal data
-- (Law 91/2025/QH15): they can be erased, leaving the anonymous record.
CREATE TABLE people (
    id           uuid PRIMARY KEY,
    full_name    text CHECK (length(full_name) BETWEEN 1 AND 200),
    phone        text CHECK (phone ~ '^\+84[35789][0-9]{8}$'),
    gender       text NOT NULL DEFAULT 'unspecified' CHECK (gender IN ('female', 'male', 'other', 'unspecified')),
    birth_year   smallint CHECK (birth_year BETWEEN 1900 AND 2100),
    ethnicity    text,
    affiliation  text NOT NULL DEFAULT 'resident' CHECK (affiliation IN ('village_head', 'party_cell', 'youth_union',
                     'women_union', 'police', 'teacher', 'health_worker', 'telecom', 'veterans', 'farmers_union',
                     'resident', 'other')),
    erased_at    timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (erased_at IS NOT NULL OR full_name IS NOT NULL)
);
CREATE INDEX people_name_fold_idx ON people (cdt_fold(full_name));
CREATE INDEX people_phone_idx ON people (phone);
CREATE TRIGGER people_updated_at BEFORE UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();

CREATE TABLE memberships (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams (id),
    person_id   uuid NOT NULL REFERENCES people (id),
    role        text NOT NULL CHECK (role IN ('leader', 'deputy', 'member')),
    joined_on   date NOT NULL,
    left_on     date,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (left_on IS NULL OR left_on >= joined_on)
);
-- At most one current leader per team, and one current membership per person and team.
CREATE UNIQUE INDEX memberships_one_current_leader ON memberships (team_id) WHERE role = 'leader' AND left_on IS NULL;
CREATE UNIQUE INDEX memberships_one_current_per_person ON memberships (team_id, person_id) WHERE left_on IS NULL;
CREATE INDEX memberships_person_idx ON memberships (person_id);
CREATE TRIGGER memberships_updated_at BEFORE UPDATE ON memberships
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();

-- A team leader's account is linked to the person too.
ALTER TABLE users ADD COLUMN person_id uuid REFERENCES people (id);
