DROP FUNCTION cdt_versions_bump();
DROP FUNCTION cdt_changes_backfill();
