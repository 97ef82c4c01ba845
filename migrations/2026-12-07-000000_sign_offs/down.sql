DROP FUNCTION cdt_sign_off_state(uuid, date);
DROP TABLE sign_off_transitions;
DROP TABLE sign_offs;
