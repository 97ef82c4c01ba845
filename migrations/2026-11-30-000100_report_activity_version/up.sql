-- Report servers cache which teams were active in a period (from `stat_team_years`) under a third version,
-- `activity`, bumped in the writing transaction whenever a team's activity bits change: a team's first
-- counted record of a day, or the last one of a day withdrawn, rejected or deleted. Ordinary session writes
-- leave the bits as they are and do not bump it, so the version changes a few times per team and day at
-- most, and a summary reads the active set from the cache instead of probing every team of its scope.
INSERT INTO cdt_versions VALUES ('activity', 1) ON CONFLICT (name) DO NOTHING;

CREATE FUNCTION cdt_bump_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdt_versions SET version = version + 1 WHERE name = 'activity';
    RETURN NULL;
END;
$$;

CREATE TRIGGER stat_team_years_activity_update AFTER UPDATE ON stat_team_years
    FOR EACH ROW WHEN (OLD.days IS DISTINCT FROM NEW.days) EXECUTE FUNCTION cdt_bump_activity();
CREATE TRIGGER stat_team_years_activity_delete AFTER DELETE ON stat_team_years
    FOR EACH ROW WHEN (position(B'1' IN OLD.days) > 0) EXECUTE FUNCTION cdt_bump_activity();
-- Row triggers with a condition, not statement triggers: every session write runs an INSERT ... ON CONFLICT
-- DO NOTHING on this table, and a statement trigger would fire (and need a transition table) each time.
-- Rows are inserted with bits set only by the bulk rebuild, which truncates first (one bump) and inserts
-- its rows in the same transaction (one bump per team-year, about a second at national scale).
CREATE TRIGGER stat_team_years_activity_insert AFTER INSERT ON stat_team_years
    FOR EACH ROW WHEN (position(B'1' IN NEW.days) > 0) EXECUTE FUNCTION cdt_bump_activity();
CREATE TRIGGER stat_team_years_activity_truncate AFTER TRUNCATE ON stat_team_years
    FOR EACH STATEMENT EXECUTE FUNCTION cdt_bump_activity();

-- A team's memberships, past ones included (the partial indexes only cover current memberships, which
-- made a team's member list plan a sequential scan whenever past members were asked for).
CREATE INDEX memberships_team_idx ON memberships (team_id);
