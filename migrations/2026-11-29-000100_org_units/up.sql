-- The administrative tree (province > district (until 2025) > commune/ward > village), effective-dated.
-- Units are never merged destructively: a reorganisation closes the predecessors (valid_to) and creates a
-- successor, linked in org_unit_successions.
CREATE TABLE org_units (
    id          uuid PRIMARY KEY,
    code        text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level       text NOT NULL CHECK (level IN ('province', 'district', 'commune', 'village')),
    kind        text NOT NULL CHECK (kind IN ('tinh', 'thanh_pho', 'thi_xa', 'huyen', 'xa', 'phuong', 'thi_tran',
                                              'ban', 'tieu_khu', 'thon', 'to_dan_pho')),
    parent_id   uuid REFERENCES org_units (id),
    -- Materialised path: the ids of the ancestors and of the unit itself, each followed by '/'.
    -- A subtree is `path LIKE '<root path>%'`, served by the text_pattern_ops index.
    path        text NOT NULL,
    depth       smallint NOT NULL CHECK (depth >= 0),
    valid_from  date NOT NULL,
    valid_to    date,
    households  integer CHECK (households >= 0),
    population  integer CHECK (population >= 0),
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CHECK ((parent_id IS NULL) = (level = 'province'))
);
CREATE UNIQUE INDEX org_units_code_key ON org_units (code);
CREATE UNIQUE INDEX org_units_path_key ON org_units (path text_pattern_ops);
CREATE INDEX org_units_parent_idx ON org_units (parent_id, name);
CREATE INDEX org_units_name_fold_idx ON org_units (cdt_fold(name));
CREATE TRIGGER org_units_updated_at BEFORE UPDATE ON org_units
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();

CREATE TABLE org_unit_successions (
    predecessor_id  uuid NOT NULL REFERENCES org_units (id),
    successor_id    uuid NOT NULL REFERENCES org_units (id),
    effective_on    date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (predecessor_id, successor_id),
    CHECK (predecessor_id <> successor_id)
);
CREATE INDEX org_unit_successions_successor_idx ON org_unit_successions (successor_id);
