-- Editions of the communication campaign "Kỹ năng nhận diện và phòng chống lừa đảo trực tuyến".
CREATE TABLE campaigns (
    id           uuid PRIMARY KEY,
    code         text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    name_en      text CHECK (length(name_en) <= 300),
    owner        text NOT NULL CHECK (length(owner) BETWEEN 1 AND 300),
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    description  text CHECK (length(description) <= 5000),
    skill_groups text[] NOT NULL,
    fraud_types  text[] NOT NULL,
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'closed')),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on)
);
CREATE UNIQUE INDEX campaigns_code_key ON campaigns (code);
CREATE TRIGGER campaigns_updated_at BEFORE UPDATE ON campaigns
    FOR EACH ROW EXECUTE FUNCTION cdt_set_updated_at();
