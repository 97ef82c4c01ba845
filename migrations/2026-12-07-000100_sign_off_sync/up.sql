-- Sync pull carries the sign-off state of the units a phone sees, so it can warn before a leader logs into a
-- closed month: every sign-off enters the change feed as a shared row (no team) at its unit's path, which
-- the feed shows to everyone whose scope holds the unit and to the team leaders inside it.
ALTER TABLE changes DROP CONSTRAINT changes_entity_check;
ALTER TABLE changes ADD CONSTRAINT changes_entity_check CHECK (entity IN ('org_unit', 'campaign', 'team',
    'membership', 'training_session', 'reach_activity', 'sign_off'));

CREATE FUNCTION cdt_change_sign_off() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cdt_record_change('sign_off', NEW.id, NULL,
                              (SELECT path FROM org_units WHERE id = NEW.org_unit_id), false);
    RETURN NULL;
END;
$$;
CREATE TRIGGER sign_offs_change AFTER INSERT OR UPDATE ON sign_offs
    FOR EACH ROW EXECUTE FUNCTION cdt_change_sign_off();

INSERT INTO changes (entity, record_id, team_id, unit_path, deleted)
SELECT 'sign_off', s.id, NULL::uuid, u.path, false FROM sign_offs s JOIN org_units u ON u.id = s.org_unit_id;
