DROP TABLE org_unit_successions;
DROP TABLE org_units;
