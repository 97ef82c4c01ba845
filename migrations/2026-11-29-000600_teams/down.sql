ALTER TABLE users DROP CONSTRAINT users_team_id_fkey;
DROP TABLE team_units;
DROP TABLE teams;
