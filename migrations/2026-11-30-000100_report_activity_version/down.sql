DROP INDEX memberships_team_idx;
DROP TRIGGER stat_team_years_activity_truncate ON stat_team_years;
DROP TRIGGER stat_team_years_activity_insert ON stat_team_years;
DROP TRIGGER stat_team_years_activity_delete ON stat_team_years;
DROP TRIGGER stat_team_years_activity_update ON stat_team_years;
DROP FUNCTION cdt_bump_activity();
DELETE FROM cdt_versions WHERE name = 'activity';
