DROP TRIGGER sign_offs_change ON sign_offs;
DROP FUNCTION cdt_change_sign_off();
DELETE FROM changes WHERE entity = 'sign_off';
ALTER TABLE changes DROP CONSTRAINT changes_entity_check;
ALTER TABLE changes ADD CONSTRAINT changes_entity_check CHECK (entity IN ('org_unit', 'campaign', 'team',
    'membership', 'training_session', 'reach_activity'));
