-- Search by index (issue 24). Every `q` of the lists matches folded text (cdt_fold: lower case, no
-- diacritics): a term of three characters or more anywhere in the text, through a trigram GIN index; a
-- shorter term at the start of the text (a byte-wise prefix range, `~>=~` and `~<~`), through a
-- text_pattern_ops B-tree, which a range with parameters can use in a generic plan whatever the
-- database's collation. The old B-trees in the default collation served neither.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

DROP INDEX org_units_name_fold_idx;
DROP INDEX teams_name_fold_idx;
DROP INDEX people_name_fold_idx;

CREATE INDEX org_units_name_trgm ON org_units USING gin (cdt_fold(name) gin_trgm_ops);
CREATE INDEX org_units_name_prefix ON org_units (cdt_fold(name) text_pattern_ops);
CREATE INDEX teams_name_trgm ON teams USING gin (cdt_fold(name) gin_trgm_ops);
CREATE INDEX teams_name_prefix ON teams (cdt_fold(name) text_pattern_ops);
CREATE INDEX people_name_trgm ON people USING gin (cdt_fold(full_name) gin_trgm_ops);
CREATE INDEX people_name_prefix ON people (cdt_fold(full_name) text_pattern_ops);
CREATE INDEX users_username_trgm ON users USING gin (cdt_fold(username) gin_trgm_ops);
CREATE INDEX users_username_prefix ON users (cdt_fold(username) text_pattern_ops);
CREATE INDEX users_display_name_trgm ON users USING gin (cdt_fold(display_name) gin_trgm_ops);
CREATE INDEX users_display_name_prefix ON users (cdt_fold(display_name) text_pattern_ops);
