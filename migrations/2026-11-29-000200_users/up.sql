-- People who sign in. Officers and viewers are scoped to an org-unit subtree; team leaders to one team
-- (team_id gets its foreign key when the teams table arrives).
CREATE TABLE users (
    id               uuid PRIMARY KEY,
    username         text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$'),
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    phone            text,
    password_hash    text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'officer', 'team_leader', 'viewer')),
    org_unit_id      uuid REFERENCES org_units (id),
    team_id          uuid,
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins    integer NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    -- Bumped when the user is disabled or their role, scope or password changes: access tokens carry the
    -- generation they were issued under and stop working as soon as it moves.
    token_generation integer NOT NULL DEFAULT 0,
    last_login_at    timestamptz,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (role NOT IN ('officer', 'viewer') OR org_unit_id IS NOT NULL)
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_org_unit_idx ON users (org_unit_id);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
