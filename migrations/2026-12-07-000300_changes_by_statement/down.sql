DROP TRIGGER training_sessions_change_insert ON training_sessions;
DROP TRIGGER training_sessions_change_update ON training_sessions;
DROP TRIGGER reach_activities_change_insert ON reach_activities;
DROP TRIGGER reach_activities_change_update ON reach_activities;
DROP FUNCTION cdt_change_records_statement();

CREATE FUNCTION cdt_change_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('training_session', NEW.id, NEW.team_id, cdt_team_path(NEW.team_id),
                              NEW.deleted_at IS NOT NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER training_sessions_change AFTER INSERT OR UPDATE ON training_sessions
    FOR EACH ROW EXECUTE FUNCTION cdt_change_session();

CREATE FUNCTION cdt_change_reach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('reach_activity', NEW.id, NEW.team_id, cdt_team_path(NEW.team_id),
                              NEW.deleted_at IS NOT NULL);
    RETURN NULL;
END;
$$;
CREATE TRIGGER reach_activities_change AFTER INSERT OR UPDATE ON reach_activities
    FOR EACH ROW EXECUTE FUNCTION cdt_change_reach();
