DROP INDEX org_units_name_trgm, org_units_name_prefix, teams_name_trgm, teams_name_prefix,
    people_name_trgm, people_name_prefix, users_username_trgm, users_username_prefix,
    users_display_name_trgm, users_display_name_prefix;
CREATE INDEX org_units_name_fold_idx ON org_units (cdt_fold(name));
CREATE INDEX teams_name_fold_idx ON teams (cdt_fold(name));
CREATE INDEX people_name_fold_idx ON people (cdt_fold(full_name));
DROP EXTENSION pg_trgm;
