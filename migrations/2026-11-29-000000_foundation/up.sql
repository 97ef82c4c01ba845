-- Shared building blocks every domain table uses.

-- Diacritic-insensitive search: "chieng" must find "Chiềng", "dong" must find "Đông".
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE (its dictionary could change), so it cannot back an index. Pinning the
-- dictionary makes the folding immutable, which is what expression and trigram indexes need.
CREATE FUNCTION cdt_fold(input text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN lower(public.unaccent('public.unaccent'::regdictionary, normalize(input, NFC)));

-- Keeps updated_at current on every UPDATE; attached to each mutable table by its migration.
CREATE FUNCTION cdt_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
