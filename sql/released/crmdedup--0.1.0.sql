-- crmdedup install script, assembled from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION crmdedup" to load this file. \quit

-- Everyone may call the functions, as with any extension installed into a shared schema;
-- what needs more (recording versions, later profiles and merges) is granted separately.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
-- Library and data versions that decide key output (see DESIGN.md, invariant 1).

CREATE FUNCTION @extschema@.runtime_versions(OUT component text, OUT version text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'runtime_versions'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.runtime_versions() IS
'versions of crmdedup key rules, utf8proc, ICU and data tables running in this backend';

-- Not a pg_dump config table on purpose: a restore rebuilds every index with the
-- libraries of the new server, so the new server's versions are the right record.
CREATE TABLE @extschema@.library_versions (
    component text PRIMARY KEY,
    version text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.library_versions IS
'versions recorded at CREATE EXTENSION or crmdedup.refresh_versions(); a mismatch with the running code raises a warning';

INSERT INTO @extschema@.library_versions (component, version)
SELECT component, version FROM @extschema@.runtime_versions();

GRANT SELECT ON @extschema@.library_versions TO PUBLIC;

CREATE FUNCTION @extschema@.versions(OUT component text, OUT recorded text, OUT running text, OUT matches boolean)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT COALESCE(l.component, r.component), l.version, r.version,
           l.version IS NOT DISTINCT FROM r.version
      FROM @extschema@.library_versions AS l
      FULL JOIN @extschema@.runtime_versions() AS r ON l.component OPERATOR(pg_catalog.=) r.component
     ORDER BY 1;
END;

COMMENT ON FUNCTION @extschema@.versions() IS
'recorded and running versions of everything that decides crmdedup keys';

-- Run after rebuilding the indexes and stored values that use crmdedup keys.
CREATE FUNCTION @extschema@.refresh_versions()
RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM @extschema@.library_versions;
    INSERT INTO @extschema@.library_versions (component, version)
    SELECT component, version FROM @extschema@.runtime_versions();
END;

REVOKE ALL ON FUNCTION @extschema@.refresh_versions() FROM PUBLIC;

COMMENT ON FUNCTION @extschema@.refresh_versions() IS
'record the running library versions as the ones keys are built with (after a REINDEX)';
-- Phone normalizer.

CREATE FUNCTION @extschema@.phone_e164(raw text, region text)
RETURNS text
AS 'MODULE_PATHNAME', 'phone_e164'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_e164(text, text) IS
'phone number in E.164 form (+79123456789), region = ISO code for numbers written without a country code ("ZZ": none); NULL if not a valid number';

CREATE FUNCTION @extschema@.phone_extension(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'phone_extension'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_extension(text) IS
'extension digits written after a phone number (ext. 12, x12, доб. 12, 转12), or NULL';

CREATE FUNCTION @extschema@.phone_parse(raw text, region text,
    OUT e164 text, OUT extension text, OUT country_code integer, OUT number_region text,
    OUT valid boolean, OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'phone_parse'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_parse(text, text) IS
'phone number parsed: E.164, extension, country code, region, and the reason when it is rejected';
-- Email normalizer.

CREATE FUNCTION @extschema@.email_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'email_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_key(text) IS
'dedup key of an email address: canonical form plus provider rules (Gmail dots and +tags, Yandex aliases); NULL if invalid';

CREATE FUNCTION @extschema@.email_normalize(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'email_normalize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_normalize(text) IS
'email address in canonical form (display name and mailto: removed, lower case, IDNA domain), without provider rules; NULL if invalid';

CREATE FUNCTION @extschema@.email_parse(raw text,
    OUT address text, OUT key text, OUT valid boolean, OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'email_parse'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_parse(text) IS
'email address parsed: canonical address, dedup key, and the reason when it is rejected';
-- Name, person and company keys.

CREATE FUNCTION @extschema@.name_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'name_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_key(text) IS
'NFKC, case folded, marks removed, punctuation and spaces folded; script kept; NULL if no letters or digits';

CREATE FUNCTION @extschema@.translit(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'translit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.translit(text) IS
'any script to lower-case Latin ASCII words (Пётр Щукин → petr shchukin, 王小明 → wang xiao ming)';

CREATE FUNCTION @extschema@.person_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'person_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.person_key(text) IS
'transliterated person name with its words sorted: Петров Иван = Ivan Petrov';

CREATE FUNCTION @extschema@.company_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'company_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.company_key(text) IS
'company name without legal forms and quotes (ООО «Ромашка» → ромашка), then as name_key';
-- String metrics on Unicode characters (no folding: fold with name_key() or translit() first).

CREATE FUNCTION @extschema@.jaro_winkler(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'jaro_winkler'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jaro_winkler(text, text) IS
'Jaro-Winkler similarity in [0,1] over Unicode characters';

CREATE FUNCTION @extschema@.levenshtein(a text, b text)
RETURNS integer
AS 'MODULE_PATHNAME', 'levenshtein_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.levenshtein(a text, b text, max integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'levenshtein_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.levenshtein(text, text) IS
'optimal string alignment distance (adjacent transpositions cost 1) over Unicode characters';
COMMENT ON FUNCTION @extschema@.levenshtein(text, text, integer) IS
'optimal string alignment distance, at most max + 1: stops as soon as the distance exceeds max';

CREATE FUNCTION @extschema@.levenshtein_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'levenshtein_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.levenshtein_similarity(text, text) IS
'1 - levenshtein(a, b) / greatest length, in [0,1]';

CREATE FUNCTION @extschema@.trigram_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'trigram_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.trigram_similarity(text, text) IS
'Jaccard similarity of character trigrams (pg_trgm-like, over Unicode characters)';

CREATE FUNCTION @extschema@.token_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'token_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.token_similarity(text, text) IS
'order-free similarity of space-separated words, with typos, initials and prefixes; extra words cost little';
-- Field matching across scripts: phonetic key, nicknames, name/company/phone/email similarity.

CREATE FUNCTION @extschema@.phonetic(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'phonetic'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phonetic(text) IS
'sound key of a name after transliteration, one per word: Щукин, Shchukin and Schukin meet';

CREATE FUNCTION @extschema@.nickname_canonical(word text)
RETURNS text
AS 'MODULE_PATHNAME', 'nickname_canonical'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.nickname_canonical(text) IS
'the full given name of a nickname or diminutive, transliterated (Саша → aleksandr, Bob → robert)';

CREATE FUNCTION @extschema@.name_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_similarity(text, text) IS
'similarity of two person names in [0,1] across scripts, word order, initials, nicknames and patronymics';

CREATE FUNCTION @extschema@.company_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'company_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.company_similarity(text, text) IS
'similarity of two company names in [0,1], legal forms and quotes ignored, across scripts';

CREATE FUNCTION @extschema@.phone_similarity(a text, b text, region text)
RETURNS float8
AS 'MODULE_PATHNAME', 'phone_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_similarity(text, text, text) IS
'1 for the same number in any format; high for one mistyped or transposed digit';

CREATE FUNCTION @extschema@.email_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'email_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_similarity(text, text) IS
'1 for the same mailbox; high for a typo domain or the same name at another domain';
-- Match profiles: which column of a table plays which role, with weights and thresholds.

CREATE TABLE @extschema@.profiles (
    name text PRIMARY KEY CHECK (name OPERATOR(pg_catalog.<>) ''),
    table_oid regclass NOT NULL,
    spec jsonb NOT NULL,
    compiled jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    analyzed_at timestamptz,
    analyzed_rows bigint
);

COMMENT ON TABLE @extschema@.profiles IS
'match profiles: the spec as given and compiled with defaults (kept by pg_dump)';

CREATE TABLE @extschema@.term_stats (
    profile text NOT NULL REFERENCES @extschema@.profiles (name) ON DELETE CASCADE ON UPDATE CASCADE,
    field text NOT NULL,
    term text NOT NULL,
    freq float8 NOT NULL,
    PRIMARY KEY (profile, field, term)
);

COMMENT ON TABLE @extschema@.term_stats IS
'share of rows holding each name term, gathered by crmdedup.analyze(profile): agreeing on a rare name weighs more';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.term_stats', '');

-- Anyone may read profiles; only a role that owns the profiled table may change its profile.
ALTER TABLE @extschema@.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.term_stats ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_read ON @extschema@.profiles FOR SELECT USING (true);
CREATE POLICY profiles_owner ON @extschema@.profiles FOR ALL
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) table_oid), 'USAGE'))
    WITH CHECK (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                         WHERE c.oid OPERATOR(pg_catalog.=) table_oid), 'USAGE'));
CREATE POLICY term_stats_read ON @extschema@.term_stats FOR SELECT USING (true);
CREATE POLICY term_stats_owner ON @extschema@.term_stats FOR ALL
    USING (EXISTS (SELECT 1 FROM @extschema@.profiles p WHERE p.name OPERATOR(pg_catalog.=) profile
                      AND pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                                   WHERE c.oid OPERATOR(pg_catalog.=) p.table_oid), 'USAGE')));
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.profiles, @extschema@.term_stats TO PUBLIC;

-- Default comparison levels per role: similarity at least "min" reaches the level; m is the
-- share of true duplicates at that level, u the share of unrelated pairs (Fellegi-Sunter).
-- Pairs below the last level fall into "different", with the remaining m and u.  "tf": the
-- top levels use term frequencies gathered by analyze() as u when known.
CREATE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005}]'
    WHEN 'person_name' THEN '[{"level":"same name","min":0.98,"m":0.70,"u":0.002,"tf":true},
                              {"level":"similar name","min":0.9,"m":0.20,"u":0.005,"tf":true},
                              {"level":"somewhat similar","min":0.75,"m":0.06,"u":0.03}]'
    WHEN 'first_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.02,"tf":true},
                             {"level":"similar","min":0.9,"m":0.10,"u":0.02},
                             {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.05}]'
    WHEN 'last_name' THEN '[{"level":"same","min":0.98,"m":0.85,"u":0.005,"tf":true},
                            {"level":"similar","min":0.9,"m":0.10,"u":0.005},
                            {"level":"somewhat similar","min":0.75,"m":0.03,"u":0.03}]'
    WHEN 'middle_name' THEN '[{"level":"same","min":0.98,"m":0.70,"u":0.05},
                              {"level":"similar","min":0.85,"m":0.10,"u":0.05}]'
    WHEN 'company' THEN '[{"level":"same company","min":0.98,"m":0.70,"u":0.01,"tf":true},
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01}]'
    WHEN 'external_id' THEN '[{"level":"same id","min":0.999,"m":0.90,"u":0.00001}]'
    WHEN 'code' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                       {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'text' THEN '[{"level":"same","min":0.95,"m":0.60,"u":0.01},
                       {"level":"similar","min":0.8,"m":0.25,"u":0.03}]'
END::jsonb;

COMMENT ON FUNCTION @extschema@.default_levels(text) IS
'default comparison levels (similarity threshold, m and u probabilities) of a field role; NULL for an unknown role';

-- The column of a table's single-column primary key, or NULL (profiles and merges key rows by it).
CREATE FUNCTION @extschema@.primary_key_column(tbl regclass)
RETURNS name
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT a.attname
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                    AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
     WHERE i.indrelid OPERATOR(pg_catalog.=) tbl AND i.indisprimary AND i.indnkeyatts OPERATOR(pg_catalog.=) 1;
END;

-- Check a spec against the table and fill in defaults.  Every error names the bad key.
CREATE FUNCTION @extschema@.compile_profile_spec(tbl regclass, spec jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    f jsonb;
    fk text;
    fields jsonb := '[]';
    idcol text;
    region text;
    role text;
    col_type text;
    same float8;
    maybe float8;
    prior float8;
    lvl jsonb;
    prev_min float8;
    sum_m float8;
    sum_u float8;
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RAISE EXCEPTION 'invalid profile spec: it must be a JSON object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(spec) LOOP
        IF k NOT IN ('id', 'region', 'fields', 'thresholds', 'prior', 'survivor') THEN
            RAISE EXCEPTION 'invalid profile spec: unknown key "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Known keys: id, region, fields, thresholds, prior, survivor.';
        END IF;
    END LOOP;

    -- the key column: given, or the table's single-column primary key
    IF spec ? 'id' THEN
        IF jsonb_typeof(spec->'id') <> 'string' THEN
            RAISE EXCEPTION 'invalid profile spec: "id" must be a column name'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        idcol := spec->>'id';
    ELSE
        idcol := @extschema@.primary_key_column(tbl);
        IF idcol IS NULL THEN
            RAISE EXCEPTION 'invalid profile spec: table % has no single-column primary key', tbl
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name the key column with "id".';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = idcol
                      AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'invalid profile spec: "id": column "%" does not exist in %', idcol, tbl
            USING ERRCODE = 'undefined_column';
    END IF;

    region := coalesce(spec->>'region', 'ZZ');
    IF jsonb_typeof(coalesce(spec->'region', '"ZZ"')) <> 'string' THEN
        RAISE EXCEPTION 'invalid profile spec: "region" must be a string'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM @extschema@.phone_e164('', region);	-- raises for an unknown region

    IF jsonb_typeof(spec->'fields') IS DISTINCT FROM 'object' OR spec->'fields' = '{}' THEN
        RAISE EXCEPTION 'invalid profile spec: "fields" must be a non-empty object of column: role'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example {"fields": {"full_name": "person_name", "phone": "phone"}}.';
    END IF;

    FOR k, v IN SELECT * FROM jsonb_each(spec->'fields') ORDER BY 1 LOOP
        IF jsonb_typeof(v) = 'string' THEN
            v := jsonb_build_object('role', v);
        ELSIF jsonb_typeof(v) <> 'object' THEN
            RAISE EXCEPTION 'invalid profile spec: field "%" must be a role name or an object', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR fk IN SELECT jsonb_object_keys(v) LOOP
            IF fk NOT IN ('role', 'weight', 'region', 'levels', 'from') THEN
                RAISE EXCEPTION 'invalid profile spec: unknown key "%" in field "%"', fk, k
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Known field keys: role, weight, region, levels, from.';
            END IF;
        END LOOP;
        role := v->>'role';
        IF role IS NULL OR @extschema@.default_levels(role) IS NULL THEN
            RAISE EXCEPTION 'invalid profile spec: field "%" has unknown role "%"', k, coalesce(role, '')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Roles: person_name, first_name, last_name, middle_name, company, phone, email, '
                             'address, city, postcode, birth_date, external_id, code, text.';
        END IF;

        f := jsonb_build_object('field', k, 'role', role,
                                'weight', coalesce((v->>'weight')::float8, 1.0),
                                'region', coalesce(v->>'region', region));
        IF (f->>'weight')::float8 <= 0 THEN
            RAISE EXCEPTION 'invalid profile spec: "weight" of field "%" must be positive', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM @extschema@.phone_e164('', f->>'region');

        IF v ? 'from' THEN
            -- values kept in a child table: {"table": ..., "column": ..., "key": ...}
            IF jsonb_typeof(v->'from') <> 'object' OR NOT (v->'from' ?& ARRAY['table', 'column', 'key']) THEN
                RAISE EXCEPTION 'invalid profile spec: "from" of field "%" needs "table", "column" and "key"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- an unqualified child table is looked up in the profiled table's schema
            IF cardinality(parse_ident(v->'from'->>'table')) = 1 THEN
                v := jsonb_set(v, '{from,table}', to_jsonb(
                        quote_ident((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                      WHERE c.oid = tbl)) || '.' || (v->'from'->>'table')));
            END IF;
            f := f || jsonb_build_object('from', jsonb_build_object(
                        'table', (v->'from'->>'table')::regclass::text,
                        'column', v->'from'->>'column', 'key', v->'from'->>'key',
                        'key_type', (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                      WHERE attrelid = (v->'from'->>'table')::regclass
                                        AND attname = v->'from'->>'key' AND NOT attisdropped)));
            FOREACH fk IN ARRAY ARRAY[v->'from'->>'column', v->'from'->>'key'] LOOP
                IF NOT EXISTS (SELECT 1 FROM pg_attribute
                                WHERE attrelid = (v->'from'->>'table')::regclass AND attname = fk
                                  AND attnum > 0 AND NOT attisdropped) THEN
                    RAISE EXCEPTION 'invalid profile spec: field "%": column "%" does not exist in %',
                        k, fk, (v->'from'->>'table')::regclass
                        USING ERRCODE = 'undefined_column';
                END IF;
            END LOOP;
        ELSE
            SELECT format_type(atttypid, atttypmod) INTO col_type
              FROM pg_attribute WHERE attrelid = tbl AND attname = k AND attnum > 0 AND NOT attisdropped;
            IF col_type IS NULL THEN
                RAISE EXCEPTION 'invalid profile spec: field "%": column "%" does not exist in %', k, k, tbl
                    USING ERRCODE = 'undefined_column';
            END IF;
        END IF;

        -- levels: given or default; thresholds decreasing, probabilities in (0,1), sums below 1
        lvl := coalesce(v->'levels', @extschema@.default_levels(role));
        IF jsonb_typeof(lvl) <> 'array' OR jsonb_array_length(lvl) = 0 THEN
            RAISE EXCEPTION 'invalid profile spec: "levels" of field "%" must be a non-empty array', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        prev_min := 2; sum_m := 0; sum_u := 0;
        FOR v IN SELECT * FROM jsonb_array_elements(lvl) LOOP
            IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v->'min') <> 'number'
               OR jsonb_typeof(v->'m') <> 'number' OR jsonb_typeof(v->'u') <> 'number' THEN
                RAISE EXCEPTION 'invalid profile spec: each level of field "%" needs numbers "min", "m" and "u"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF (v->>'min')::float8 >= prev_min OR (v->>'min')::float8 <= 0 OR (v->>'min')::float8 > 1
               OR (v->>'m')::float8 <= 0 OR (v->>'u')::float8 <= 0 THEN
                RAISE EXCEPTION 'invalid profile spec: levels of field "%" must have decreasing "min" in (0,1] and positive "m" and "u"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            prev_min := (v->>'min')::float8;
            sum_m := sum_m + (v->>'m')::float8;
            sum_u := sum_u + (v->>'u')::float8;
        END LOOP;
        IF sum_m >= 1 OR sum_u >= 1 THEN
            RAISE EXCEPTION 'invalid profile spec: the "m" and the "u" of the levels of field "%" must each sum below 1', k
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'What remains is the probability of the "different" level.';
        END IF;
        fields := fields || jsonb_build_array(f || jsonb_build_object('levels', lvl));
    END LOOP;

    IF spec ? 'thresholds' AND (jsonb_typeof(spec->'thresholds') <> 'object' OR EXISTS (
            SELECT 1 FROM jsonb_object_keys(spec->'thresholds') t WHERE t NOT IN ('same', 'maybe'))) THEN
        RAISE EXCEPTION 'invalid profile spec: "thresholds" takes only "same" and "maybe"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    same := coalesce((spec->'thresholds'->>'same')::float8, 0.9);
    maybe := coalesce((spec->'thresholds'->>'maybe')::float8, 0.5);
    IF NOT (0 < maybe AND maybe <= same AND same < 1) THEN
        RAISE EXCEPTION 'invalid profile spec: thresholds must satisfy 0 < maybe <= same < 1'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- which member of a cluster survives a merge (reports and auto_merge)
    IF spec ? 'survivor' AND (spec->>'survivor') NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid profile spec: "survivor" must be most_complete, oldest, newest or most_referenced'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    prior := coalesce((spec->>'prior')::float8, 0.001);
    IF NOT (0 < prior AND prior < 1) THEN
        RAISE EXCEPTION 'invalid profile spec: "prior" must be in (0,1)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN jsonb_build_object('table', tbl::text, 'id', idcol,
                              'id_type', (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                           WHERE attrelid = tbl AND attname = idcol),
                              'fields', fields, 'same', same, 'maybe', maybe, 'prior', prior,
                              'survivor', coalesce(spec->>'survivor', 'most_complete'));
END;
$$;

CREATE FUNCTION @extschema@.create_profile(name text, tbl regclass, spec jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to create a profile on it', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.profiles p WHERE p.name = create_profile.name) THEN
        RAISE EXCEPTION 'profile "%" already exists', name
            USING ERRCODE = 'duplicate_object', HINT = 'Use crmdedup.alter_profile to change it.';
    END IF;
    INSERT INTO @extschema@.profiles (name, table_oid, spec, compiled)
    VALUES (name, tbl, spec, @extschema@.compile_profile_spec(tbl, spec));
END;
$$;

CREATE FUNCTION @extschema@.alter_profile(name text, spec jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
BEGIN
    SELECT p.table_oid INTO tbl FROM @extschema@.profiles p WHERE p.name = alter_profile.name FOR UPDATE;
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'profile "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE @extschema@.profiles p
       SET spec = alter_profile.spec, compiled = @extschema@.compile_profile_spec(tbl, alter_profile.spec),
           updated_at = now()
     WHERE p.name = alter_profile.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of table % to alter its profile', tbl
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END;
$$;

CREATE FUNCTION @extschema@.drop_profile(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.profiles p WHERE p.name = drop_profile.name) THEN
        RAISE EXCEPTION 'profile "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    DELETE FROM @extschema@.profiles p WHERE p.name = drop_profile.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'must be owner of the profiled table to drop profile "%"', name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END;
$$;

COMMENT ON FUNCTION @extschema@.create_profile(text, regclass, jsonb) IS
'create a match profile: which column plays which role, default phone region, weights, thresholds';
COMMENT ON FUNCTION @extschema@.alter_profile(text, jsonb) IS 'replace the spec of a match profile';
COMMENT ON FUNCTION @extschema@.drop_profile(text) IS 'drop a match profile and its term statistics';
-- Record scoring: Fellegi-Sunter sum of log-likelihood weights per field, explained.

-- The values of one field of a row as text[]: a scalar, a SQL array or a jsonb array (of
-- strings, or of objects holding the value under "value", "phone", "email", "number" or "address").
CREATE FUNCTION @extschema@.field_values(v jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN '{}'::text[]
    WHEN jsonb_typeof(v) = 'array' THEN
        coalesce((SELECT array_agg(x) FROM (
            SELECT CASE jsonb_typeof(e)
                       WHEN 'string' THEN e #>> '{}'
                       WHEN 'object' THEN coalesce(e->>'value', e->>'phone', e->>'email', e->>'number', e->>'address')
                       WHEN 'null' THEN NULL
                       ELSE e #>> '{}' END AS x
              FROM jsonb_array_elements(v) AS e) s
          WHERE x IS NOT NULL AND btrim(x) <> ''), '{}'::text[])
    WHEN jsonb_typeof(v) = 'string' AND btrim(v #>> '{}') = '' THEN '{}'::text[]
    ELSE ARRAY[v #>> '{}']
END;

-- digits of a date as YYYYMMDD from the common ways of writing one, else NULL
CREATE FUNCTION @extschema@.date_digits(v text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
    WHEN v ~ '^\s*\d{4}-\d{1,2}-\d{1,2}' THEN
        (SELECT m[1] || lpad(m[2], 2, '0') || lpad(m[3], 2, '0')
           FROM regexp_match(v, '^\s*(\d{4})-(\d{1,2})-(\d{1,2})') AS m)
    WHEN v ~ '^\s*\d{1,2}[./]\d{1,2}[./]\d{4}\s*$' THEN
        (SELECT m[3] || lpad(m[2], 2, '0') || lpad(m[1], 2, '0')
           FROM regexp_match(v, '^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})') AS m)
    WHEN v ~ '^\s*\d{8}\s*$' THEN btrim(v)
END;

-- similarity of two values of a role, in [0,1]
CREATE FUNCTION @extschema@.value_similarity(role text, a text, b text, region text)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'first_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'last_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'middle_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'company' THEN @extschema@.company_similarity(a, b)
    WHEN 'phone' THEN @extschema@.phone_similarity(a, b, region)
    WHEN 'email' THEN @extschema@.email_similarity(a, b)
    WHEN 'address' THEN coalesce(@extschema@.token_similarity(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'text' THEN coalesce(@extschema@.token_similarity(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'city' THEN coalesce(@extschema@.jaro_winkler(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'postcode' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'code' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'external_id' THEN CASE WHEN @extschema@.name_key(a) = @extschema@.name_key(b) THEN 1 ELSE 0 END
    WHEN 'birth_date' THEN (
        SELECT CASE WHEN da IS NULL OR db IS NULL THEN 0
                    WHEN da = db THEN 1
                    -- day and month swapped (US vs European order)
                    WHEN left(da, 4) = left(db, 4) AND substr(da, 5, 2) = substr(db, 7, 2)
                         AND substr(da, 7, 2) = substr(db, 5, 2) THEN 0.85
                    ELSE @extschema@.levenshtein_similarity(da, db) END
          FROM (SELECT @extschema@.date_digits(a) AS da, @extschema@.date_digits(b) AS db) d)
END;

-- the key whose frequency decides how much agreeing on it is worth
CREATE FUNCTION @extschema@.term_keys(role text, v text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN string_to_array(@extschema@.person_key(v), ' ')
    WHEN 'first_name' THEN ARRAY[@extschema@.translit(v)]
    WHEN 'last_name' THEN ARRAY[@extschema@.translit(v)]
    WHEN 'company' THEN ARRAY[@extschema@.translit(@extschema@.company_key(v))]
    WHEN 'city' THEN ARRAY[@extschema@.translit(v)]
    ELSE ARRAY[@extschema@.name_key(v)]
END;

-- Score a pair of rows given as jsonb (to_jsonb of a table row).  The scoring itself is
-- crmdedup.score_rows() (C, 42_score.sql); this fetches the values of child-table fields
-- ("from") by the rows' ids and puts them under the field's name first.  A NULL row
-- counts as a row without values.
CREATE FUNCTION @extschema@.match_rows(profile text, a jsonb, b jsonb,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    f jsonb;
    q text;
    va text[];
    vb text[];
BEGIN
    SELECT pr.compiled INTO c FROM @extschema@.profiles pr WHERE pr.name = match_rows.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    a := coalesce(a, '{}');
    b := coalesce(b, '{}');
    FOR f IN SELECT * FROM jsonb_array_elements(c->'fields') AS e WHERE e ? 'from' LOOP
        q := format('SELECT coalesce(array_agg(%I::text) FILTER (WHERE %I IS NOT NULL), ''{}'') FROM %s WHERE %I = $1::%s',
                    f->'from'->>'column', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                    f->'from'->>'key_type');
        EXECUTE q INTO va USING a->>(c->>'id');
        EXECUTE q INTO vb USING b->>(c->>'id');
        IF jsonb_typeof(a) = 'object' THEN
            a := a || jsonb_build_object(f->>'field', va);
        END IF;
        IF jsonb_typeof(b) = 'object' THEN
            b := b || jsonb_build_object(f->>'field', vb);
        END IF;
    END LOOP;
    SELECT s.score, s.decision, s.weight, s.explanation INTO score, decision, weight, explanation
      FROM @extschema@.score_rows(profile, a, b) AS s;
END;
$$;

COMMENT ON FUNCTION @extschema@.match_rows(text, jsonb, jsonb) IS
'score two rows given as jsonb against a profile: score in [0,1], decision, total weight, per-field explanation';

-- match(profile, a, b): a and b are rows of the profile's table, or their ids.
CREATE FUNCTION @extschema@.match(profile text, a anyelement, b anyelement,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
    ra jsonb;
    rb jsonb;
BEGIN
    SELECT pr.compiled || jsonb_build_object('table', pr.table_oid::text) INTO c
      FROM @extschema@.profiles pr WHERE pr.name = match.profile;
    IF c IS NULL THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF (SELECT t.typtype = 'c' FROM pg_type t WHERE t.oid = pg_typeof(a)) THEN
        ra := to_jsonb(a);
        rb := to_jsonb(b);
    ELSE
        EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE %I = $1::%s', c->>'table', c->>'id', c->>'id_type')
           INTO ra USING a::text;
        EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE %I = $1::%s', c->>'table', c->>'id', c->>'id_type')
           INTO rb USING b::text;
        IF ra IS NULL OR rb IS NULL THEN
            RAISE EXCEPTION 'no row with % = % in %', c->>'id', CASE WHEN ra IS NULL THEN a::text ELSE b::text END,
                c->>'table'
                USING ERRCODE = 'no_data_found';
        END IF;
    END IF;
    SELECT * INTO score, decision, weight, explanation FROM @extschema@.match_rows(profile, ra, rb);
END;
$$;

COMMENT ON FUNCTION @extschema@.match(text, anyelement, anyelement) IS
'score two records (rows of the profile''s table, or their ids) and explain why they match';

-- Gather term frequencies of the name-like fields of a profile's table.
CREATE FUNCTION @extschema@.analyze(profile text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    n bigint;
    src text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = $1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', p.table_oid) INTO n;
    DELETE FROM @extschema@.term_stats t WHERE t.profile = p.name;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields')
              WHERE value->>'role' IN ('person_name', 'first_name', 'last_name', 'company', 'city', 'postcode', 'code')
    LOOP
        IF f ? 'from' THEN
            src := format('SELECT %I AS k, %I::text AS v FROM %s', f->'from'->>'key', f->'from'->>'column',
                          f->'from'->>'table');
        ELSE
            src := format('SELECT %I AS k, %I::text AS v FROM %s', p.compiled->>'id', f->>'field', p.table_oid);
        END IF;
        -- share of rows holding each term (a row counts once per term)
        EXECUTE format('INSERT INTO %I.term_stats (profile, field, term, freq)
                        SELECT $1, $2, term, count(DISTINCT k)::float8 / greatest($3, 1)
                          FROM (%s) s, unnest(%I.term_keys($4, v)) AS term
                         WHERE v IS NOT NULL AND term IS NOT NULL AND term <> ''''
                         GROUP BY term', '@extschema@', src, '@extschema@')
            USING p.name, f->>'field', n, f->>'role';
    END LOOP;
    UPDATE @extschema@.profiles pr SET analyzed_at = now(), analyzed_rows = n WHERE pr.name = p.name;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION @extschema@.analyze(text) IS
'gather how often each name, company and city term occurs in the profile''s table; returns the row count';
-- Record scoring in C: the same scores, levels and explanations as the PL/pgSQL
-- crmdedup.match_rows() of 0.1.0 (kept as the reference in sql/score.sql), at about
-- 10-15 us per pair (src/score_fn.c, src/core/record_score.c).
--
-- Values are read from a and b by field name with the rules of crmdedup.field_values().
-- A field whose values live in a child table ("from" in the profile) is read from a and
-- b under the field's name too: the caller puts the child rows' values there as a JSON
-- array, as match_rows() does.  Blank values count as no value, child-table ones too.
-- The profile is read once per query (per call site); term statistics one term at a time
-- until 1024 distinct terms were asked for, then all of the profile's at once.  Where the
-- PL/pgSQL raised "value out of range: underflow" for a name of very many rare words,
-- the term-frequency u is clamped to 1e-7 instead.  A compiled spec the scorer cannot use
-- (unknown role, a phone field without a known region, m or u not positive, sums not
-- below 1, prior outside (0,1)) is an error up front, not when a pair reaches it.
-- explain => false skips building the explanation (NULL); a NULL explain counts as
-- false.  NULL rows are an error.  COST 500: about 500 times a simple operator.
CREATE FUNCTION @extschema@.score_rows(profile text, a jsonb, b jsonb, explain boolean DEFAULT true,
    OUT score float8, OUT decision text, OUT weight float8, OUT explanation jsonb)
RETURNS record
AS 'MODULE_PATHNAME', 'score_rows'
LANGUAGE C STABLE PARALLEL SAFE COST 500;

COMMENT ON FUNCTION @extschema@.score_rows(text, jsonb, jsonb, boolean) IS
'score two rows given as jsonb against a profile, in C: score in [0,1], decision, total weight, per-field explanation (values of child-table fields under the field name)';
-- Types whose equality is a normalized equality: crmdedup.phone and crmdedup.email.

CREATE TYPE @extschema@.phone;

CREATE FUNCTION @extschema@.phone_in(cstring) RETURNS @extschema@.phone
AS 'MODULE_PATHNAME', 'phone_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.phone_out(@extschema@.phone) RETURNS cstring
AS 'MODULE_PATHNAME', 'phone_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.phone_recv(internal) RETURNS @extschema@.phone
AS 'MODULE_PATHNAME', 'phone_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.phone_send(@extschema@.phone) RETURNS bytea
AS 'MODULE_PATHNAME', 'phone_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- stored as the E.164 digits in 8 bytes, passed by value like int8
CREATE TYPE @extschema@.phone (
    INPUT = @extschema@.phone_in,
    OUTPUT = @extschema@.phone_out,
    RECEIVE = @extschema@.phone_recv,
    SEND = @extschema@.phone_send,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT = double,
    STORAGE = plain,
    CATEGORY = 'U'
);

COMMENT ON TYPE @extschema@.phone IS
'phone number in E.164 form; input accepts every format phone_e164() does, with crmdedup.default_region for numbers without a country code';

CREATE FUNCTION @extschema@.phone_from_text(text) RETURNS @extschema@.phone
AS 'MODULE_PATHNAME', 'phone_from_text' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.to_phone(raw text, region text) RETURNS @extschema@.phone
AS 'MODULE_PATHNAME', 'phone_from_text_region' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.phone_to_text(@extschema@.phone) RETURNS text
AS 'MODULE_PATHNAME', 'phone_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.country_code(@extschema@.phone) RETURNS integer
AS 'MODULE_PATHNAME', 'phone_country_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.to_phone(text, text) IS
'crmdedup.phone from raw text with an explicit region; raises 22P02 for text that is not a valid number';

CREATE CAST (text AS @extschema@.phone) WITH FUNCTION @extschema@.phone_from_text(text) AS ASSIGNMENT;
CREATE CAST (@extschema@.phone AS text) WITH FUNCTION @extschema@.phone_to_text(@extschema@.phone) AS ASSIGNMENT;

CREATE FUNCTION @extschema@.phone_eq(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_ne(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_lt(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_le(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_gt(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_ge(@extschema@.phone, @extschema@.phone) RETURNS boolean
AS 'MODULE_PATHNAME', 'phone_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_cmp(@extschema@.phone, @extschema@.phone) RETURNS integer
AS 'MODULE_PATHNAME', 'phone_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_hash(@extschema@.phone) RETURNS integer
AS 'MODULE_PATHNAME', 'phone_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.phone_hash_extended(@extschema@.phone, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'phone_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.phone, RIGHTARG = @extschema@.phone, FUNCTION = @extschema@.phone_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.phone_ops DEFAULT FOR TYPE @extschema@.phone USING btree AS
    OPERATOR 1 @extschema@.< ,
    OPERATOR 2 @extschema@.<= ,
    OPERATOR 3 @extschema@.= ,
    OPERATOR 4 @extschema@.>= ,
    OPERATOR 5 @extschema@.> ,
    FUNCTION 1 @extschema@.phone_cmp(@extschema@.phone, @extschema@.phone);

CREATE OPERATOR CLASS @extschema@.phone_hash_ops DEFAULT FOR TYPE @extschema@.phone USING hash AS
    OPERATOR 1 @extschema@.= ,
    FUNCTION 1 @extschema@.phone_hash(@extschema@.phone),
    FUNCTION 2 @extschema@.phone_hash_extended(@extschema@.phone, bigint);

-- crmdedup.email: compared by dedup key, printed as the canonical address

CREATE TYPE @extschema@.email;

CREATE FUNCTION @extschema@.email_in(cstring) RETURNS @extschema@.email
AS 'MODULE_PATHNAME', 'email_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.email_out(@extschema@.email) RETURNS cstring
AS 'MODULE_PATHNAME', 'email_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.email_recv(internal) RETURNS @extschema@.email
AS 'MODULE_PATHNAME', 'email_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.email_send(@extschema@.email) RETURNS bytea
AS 'MODULE_PATHNAME', 'email_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.email (
    INPUT = @extschema@.email_in,
    OUTPUT = @extschema@.email_out,
    RECEIVE = @extschema@.email_recv,
    SEND = @extschema@.email_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = main,
    CATEGORY = 'U'
);

COMMENT ON TYPE @extschema@.email IS
'email address compared by its dedup key (email_key: Gmail dots and +tags, Yandex aliases...), printed as the canonical address';

CREATE FUNCTION @extschema@.email_from_text(text) RETURNS @extschema@.email
AS 'MODULE_PATHNAME', 'email_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.email_to_text(@extschema@.email) RETURNS text
AS 'MODULE_PATHNAME', 'email_to_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.canonical(@extschema@.email) RETURNS text
AS 'MODULE_PATHNAME', 'email_canonical' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.canonical(@extschema@.email) IS
'the dedup key a crmdedup.email value is compared by';

CREATE CAST (text AS @extschema@.email) WITH FUNCTION @extschema@.email_from_text(text) AS ASSIGNMENT;
CREATE CAST (@extschema@.email AS text) WITH FUNCTION @extschema@.email_to_text(@extschema@.email) AS ASSIGNMENT;

CREATE FUNCTION @extschema@.email_eq(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_ne(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_lt(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_le(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_gt(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_ge(@extschema@.email, @extschema@.email) RETURNS boolean
AS 'MODULE_PATHNAME', 'email_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_cmp(@extschema@.email, @extschema@.email) RETURNS integer
AS 'MODULE_PATHNAME', 'email_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_hash(@extschema@.email) RETURNS integer
AS 'MODULE_PATHNAME', 'email_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.email_hash_extended(@extschema@.email, bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'email_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE OPERATOR @extschema@.= (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_eq,
    COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_ne,
    COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
    RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR @extschema@.< (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_lt,
    COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_le,
    COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_gt,
    COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
    LEFTARG = @extschema@.email, RIGHTARG = @extschema@.email, FUNCTION = @extschema@.email_ge,
    COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.email_ops DEFAULT FOR TYPE @extschema@.email USING btree AS
    OPERATOR 1 @extschema@.< ,
    OPERATOR 2 @extschema@.<= ,
    OPERATOR 3 @extschema@.= ,
    OPERATOR 4 @extschema@.>= ,
    OPERATOR 5 @extschema@.> ,
    FUNCTION 1 @extschema@.email_cmp(@extschema@.email, @extschema@.email);

CREATE OPERATOR CLASS @extschema@.email_hash_ops DEFAULT FOR TYPE @extschema@.email USING hash AS
    OPERATOR 1 @extschema@.= ,
    FUNCTION 1 @extschema@.email_hash(@extschema@.email),
    FUNCTION 2 @extschema@.email_hash_extended(@extschema@.email, bigint);
-- Multi-valued columns: the normalized keys of a text[] or jsonb list, for GIN indexes.

CREATE FUNCTION @extschema@.phone_keys(raw text[], region text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT k
               FROM unnest(raw) AS r, LATERAL (SELECT @extschema@.phone_e164(r, region) AS k) AS s
              WHERE k IS NOT NULL ORDER BY 1);

CREATE FUNCTION @extschema@.phone_keys(raw jsonb, region text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN @extschema@.phone_keys(@extschema@.field_values(raw), region);

CREATE FUNCTION @extschema@.email_keys(raw text[])
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT k
               FROM unnest(raw) AS r, LATERAL (SELECT @extschema@.email_key(r) AS k) AS s
              WHERE k IS NOT NULL ORDER BY 1);

CREATE FUNCTION @extschema@.email_keys(raw jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN @extschema@.email_keys(@extschema@.field_values(raw));

COMMENT ON FUNCTION @extschema@.phone_keys(text[], text) IS
'sorted distinct E.164 numbers of a list of raw phones; index with GIN and search with &&';
COMMENT ON FUNCTION @extschema@.phone_keys(jsonb, text) IS
'sorted distinct E.164 numbers of a jsonb list (strings, or objects with "phone", "number" or "value")';
COMMENT ON FUNCTION @extschema@.email_keys(text[]) IS
'sorted distinct email keys of a list of raw addresses; index with GIN and search with &&';
COMMENT ON FUNCTION @extschema@.email_keys(jsonb) IS
'sorted distinct email keys of a jsonb list (strings, or objects with "email" or "value")';
-- Cross-script fuzzy name search: the operator %~ ("may be the same name") and the GIN
-- operator class crmdedup.name_ops that finds its candidates (unlike pg_trgm, across
-- scripts: Петров Иван %~ Ivan Petrov, 王小明 %~ Wang Xiaoming).

-- STABLE, not IMMUTABLE: the threshold is the GUC crmdedup.name_threshold (as pg_trgm's %).
-- COST: a call transliterates and compares two names (several microseconds, about a
-- hundred simple operators); with the default cost of 1 the planner scans a large table
-- sequentially rather than through crmdedup.name_ops.
CREATE FUNCTION @extschema@.name_similar(a text, b text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'name_similar'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION @extschema@.name_similar(text, text) IS
'a %~ b: name_similarity(a, b) reaches crmdedup.name_threshold, and the names share the keys of crmdedup.name_ops that allow it';

CREATE OPERATOR @extschema@.%~ (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = @extschema@.name_similar,
    COMMUTATOR = OPERATOR(@extschema@.%~),
    RESTRICT = pg_catalog.contsel,
    JOIN = pg_catalog.contjoinsel
);

COMMENT ON OPERATOR @extschema@.%~ (text, text) IS
'may be the same person name, in any script (crmdedup.name_threshold)';

-- GIN support: keys are int4 hashes of trigrams, sounds, nicknames, initials ... (name_grams.h)
CREATE FUNCTION @extschema@.name_ops_extract_value(text, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'name_ops_extract_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- reads crmdedup.name_threshold once per scan
CREATE FUNCTION @extschema@.name_ops_extract_query(text, internal, int2, internal, internal, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'name_ops_extract_query'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.name_ops_consistent(internal, int2, text, int4, internal, internal, internal, internal)
RETURNS boolean
AS 'MODULE_PATHNAME', 'name_ops_consistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.name_ops_triconsistent(internal, int2, text, int4, internal, internal, internal)
RETURNS "char"
AS 'MODULE_PATHNAME', 'name_ops_triconsistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS @extschema@.name_ops
FOR TYPE text USING gin AS
    OPERATOR 1 @extschema@.%~ (text, text),
    FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
    FUNCTION 2 @extschema@.name_ops_extract_value(text, internal),
    FUNCTION 3 @extschema@.name_ops_extract_query(text, internal, int2, internal, internal, internal, internal),
    FUNCTION 4 @extschema@.name_ops_consistent(internal, int2, text, int4, internal, internal, internal, internal),
    FUNCTION 6 @extschema@.name_ops_triconsistent(internal, int2, text, int4, internal, internal, internal),
    STORAGE int4;

COMMENT ON OPERATOR CLASS @extschema@.name_ops USING gin IS
'candidates for %~ across scripts: CREATE INDEX ... USING gin (full_name crmdedup.name_ops)';
-- Guards: a C trigger that blocks, flags or links a duplicate at INSERT and UPDATE time.

CREATE TABLE @extschema@.guards (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$'),
    profile text NOT NULL REFERENCES @extschema@.profiles (name) ON UPDATE CASCADE,
    table_oid regclass NOT NULL,
    action text NOT NULL CHECK (action IN ('block', 'flag', 'link')),
    fields text[] NOT NULL,
    min_score float8 NOT NULL CHECK (min_score >= 0 AND min_score <= 1),
    link_column text,
    keys_sql text NOT NULL,
    probe_sql text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.guards IS
'duplicate guards attached to tables by crmdedup.guard(): action, blocking fields, threshold and the generated probe';

CREATE TABLE @extschema@.review (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    guard text NOT NULL,
    table_oid regclass NOT NULL,
    new_id text NOT NULL,
    existing_id text NOT NULL,
    score float8 NOT NULL,
    explanation jsonb,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'merge', 'distinct')),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by name NOT NULL DEFAULT CURRENT_USER,
    resolved_at timestamptz,
    resolved_by name
);
CREATE INDEX review_pair ON @extschema@.review (table_oid, existing_id, new_id);

COMMENT ON TABLE @extschema@.review IS
'candidate duplicate pairs flagged by guards, for a person to decide with crmdedup.resolve()';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.guards', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.review', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.review_id_seq', '');

-- Only a role that owns the guarded table sees and changes its guards and review rows.
ALTER TABLE @extschema@.guards ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.review ENABLE ROW LEVEL SECURITY;
CREATE POLICY guards_owner ON @extschema@.guards FOR ALL
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) table_oid), 'USAGE'));
CREATE POLICY review_owner ON @extschema@.review FOR ALL
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) table_oid), 'USAGE'));
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.guards, @extschema@.review TO PUBLIC;
GRANT USAGE ON SEQUENCE @extschema@.review_id_seq TO PUBLIC;

CREATE FUNCTION @extschema@.guard_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'guard_trigger'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.guard_trigger() IS
'the trigger crmdedup.guard() attaches; its argument is the guard name';

-- guard(): attach a guard to the profile's table.
--   action:     block (23505), flag (row kept, pair queued in crmdedup.review), link (row kept,
--               link_column set to the existing row's id)
--   fields:     profile fields whose exact keys find candidates and serialize concurrent inserts
--               (default: every phone, email, person_name, company and external_id field)
--   min_score:  score from which a candidate counts (default: the profile's "same" threshold;
--               0 = any candidate sharing a key)
CREATE FUNCTION @extschema@.guard(profile text, action text DEFAULT 'block', name text DEFAULT NULL,
                                  fields text[] DEFAULT NULL, min_score float8 DEFAULT NULL,
                                  link_column text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    gname text;
    tbl regclass;
    idcol text;
    keys text[] := '{}';
    conds text[] := '{}';
    cols text[] := '{}';
    cexpr text;
    iexpr text;
    used text[] := '{}';
    link_type text;
    id_type text;
    nsp text;
    relname text;
    coltype text;
    listcast text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = guard.profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    tbl := p.table_oid;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table % to guard it', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF action IS NULL OR action NOT IN ('block', 'flag', 'link') THEN
        RAISE EXCEPTION 'invalid guard action "%"', coalesce(action, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use block, flag or link.';
    END IF;
    gname := coalesce(name, profile || '_' || action);
    IF gname !~ '^[A-Za-z_][A-Za-z0-9_]{0,40}$' THEN
        RAISE EXCEPTION 'invalid guard name "%"', gname
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use letters, digits and underscores, at most 41 characters, starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.guards g WHERE g.name = gname) THEN
        RAISE EXCEPTION 'guard "%" already exists', gname USING ERRCODE = 'duplicate_object';
    END IF;
    IF min_score IS NOT NULL AND (min_score < 0 OR min_score > 1) THEN
        RAISE EXCEPTION 'min_score must be between 0 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    idcol := p.compiled->>'id';
    id_type := p.compiled->>'id_type';
    SELECT n.nspname, c.relname INTO nsp, relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;

    IF action = 'link' THEN
        IF link_column IS NULL THEN
            RAISE EXCEPTION 'a link guard needs link_column' USING ERRCODE = 'invalid_parameter_value',
                HINT = 'Name the column that receives the existing row''s id, e.g. link_column => ''duplicate_of''.';
        END IF;
        SELECT format_type(atttypid, atttypmod) INTO link_type FROM pg_attribute
         WHERE attrelid = tbl AND attname = link_column AND attnum > 0 AND NOT attisdropped;
        IF link_type IS NULL THEN
            RAISE EXCEPTION 'column "%" does not exist in %', link_column, tbl USING ERRCODE = 'undefined_column';
        END IF;
    ELSIF link_column IS NOT NULL THEN
        RAISE EXCEPTION 'link_column applies to link guards only' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') LOOP
        CONTINUE WHEN fields IS NOT NULL AND NOT (f->>'field' = ANY (fields));
        CONTINUE WHEN f->>'role' NOT IN ('phone', 'email', 'person_name', 'company', 'external_id');
        IF f ? 'from' THEN
            IF fields IS NOT NULL THEN
                RAISE EXCEPTION 'field "%" lives in table % and cannot be guarded on %', f->>'field',
                    f->'from'->>'table', tbl
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Guard the child table with its own profile.';
            END IF;
            CONTINUE;
        END IF;
        -- a list column (text[], jsonb) is keyed as a whole; a scalar column one value at a time
        coltype := (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = f->>'field');
        listcast := CASE WHEN coltype IN ('text[]', 'character varying[]') THEN 'text[]'
                         WHEN coltype IN ('jsonb', 'json') THEN 'jsonb' END;
        IF listcast IS NOT NULL AND f->>'role' NOT IN ('phone', 'email') THEN
            RAISE EXCEPTION '% field "%" must be a scalar column to be guarded', f->>'role', f->>'field'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        CASE f->>'role'
        WHEN 'phone' THEN
            IF listcast IS NULL THEN
                -- plain C calls on a scalar: an SQL-language helper per row costs more than the probe
                keys := keys || format('SELECT ''p:'' || @extschema@.phone_e164(($1).%I::text, %L)', f->>'field', f->>'region');
                iexpr := format('@extschema@.phone_e164(%I::text, %L)', f->>'field', f->>'region');
                cexpr := format('@extschema@.phone_e164(t.%I::text, %L) = @extschema@.phone_e164(($1).%I::text, %L)',
                                f->>'field', f->>'region', f->>'field', f->>'region');
            ELSE
                keys := keys || format('SELECT ''p:'' || k FROM unnest(@extschema@.phone_keys(($1).%I::%s, %L)) k',
                                       f->>'field', listcast, f->>'region');
                iexpr := format('@extschema@.phone_keys(%I::%s, %L)', f->>'field', listcast, f->>'region');
                cexpr := format('@extschema@.phone_keys(t.%I::%s, %L) OPERATOR(pg_catalog.&&) @extschema@.phone_keys(($1).%I::%s, %L)',
                                f->>'field', listcast, f->>'region', f->>'field', listcast, f->>'region');
            END IF;
        WHEN 'email' THEN
            IF listcast IS NULL THEN
                keys := keys || format('SELECT ''e:'' || @extschema@.email_key(($1).%I::text)', f->>'field');
                iexpr := format('@extschema@.email_key(%I::text)', f->>'field');
                cexpr := format('@extschema@.email_key(t.%I::text) = @extschema@.email_key(($1).%I::text)',
                                f->>'field', f->>'field');
            ELSE
                keys := keys || format('SELECT ''e:'' || k FROM unnest(@extschema@.email_keys(($1).%I::%s)) k',
                                       f->>'field', listcast);
                iexpr := format('@extschema@.email_keys(%I::%s)', f->>'field', listcast);
                cexpr := format('@extschema@.email_keys(t.%I::%s) OPERATOR(pg_catalog.&&) @extschema@.email_keys(($1).%I::%s)',
                                f->>'field', listcast, f->>'field', listcast);
            END IF;
        WHEN 'person_name' THEN
            -- the sorted transliterated words, and their sound keys (typos, spelling variants)
            keys := keys || format('SELECT ''n:'' || @extschema@.person_key(($1).%I::text)', f->>'field')
                         || format('SELECT ''h:'' || @extschema@.phonetic(@extschema@.person_key(($1).%I::text))', f->>'field');
            iexpr := format('@extschema@.person_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.person_key(t.%I::text) = @extschema@.person_key(($1).%I::text)',
                            f->>'field', f->>'field');
        WHEN 'company' THEN
            keys := keys || format('SELECT ''c:'' || @extschema@.company_key(($1).%I::text)', f->>'field');
            iexpr := format('@extschema@.company_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.company_key(t.%I::text) = @extschema@.company_key(($1).%I::text)',
                            f->>'field', f->>'field');
        ELSE    -- external_id
            keys := keys || format('SELECT ''x:'' || %L || '':'' || @extschema@.name_key(($1).%I::text)', f->>'field', f->>'field');
            iexpr := format('@extschema@.name_key(%I::text)', f->>'field');
            cexpr := format('@extschema@.name_key(t.%I::text) = @extschema@.name_key(($1).%I::text)',
                            f->>'field', f->>'field');
        END CASE;
        conds := conds || cexpr;
        cols := cols || (f->>'field');
        used := used || (f->>'field');
        -- the index that makes the probe O(candidates): btree on a key, GIN on a key array
        IF to_regclass(format('%I.%I', nsp, left('crmdedup_' || relname || '_' || (f->>'field') || '_' || (f->>'role'), 63))) IS NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING %s ((%s))',
                           left('crmdedup_' || relname || '_' || (f->>'field') || '_' || (f->>'role'), 63), tbl,
                           CASE WHEN iexpr LIKE '%_keys(%' THEN 'gin' ELSE 'btree' END, iexpr);
        END IF;
    END LOOP;

    IF cardinality(conds) = 0 THEN
        RAISE EXCEPTION 'profile "%" has no field a guard can use', profile
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Guards find candidates by phone, email, person_name, company or external_id columns of the table.';
    END IF;

    INSERT INTO @extschema@.guards (name, profile, table_oid, action, fields, min_score, link_column, keys_sql, probe_sql)
    VALUES (gname, profile, tbl, action, used,
            coalesce(min_score, (p.compiled->>'same')::float8), link_column,
            format('SELECT ARRAY(SELECT DISTINCT k FROM (%s) s(k) WHERE k IS NOT NULL)', array_to_string(keys, ' UNION ALL ')),
            format('SELECT t.%I::text, m.score, m.explanation, '
                   '(SELECT string_agg(CASE WHEN (x->>''similarity'')::float8 >= 0.999 THEN x->>''level'' '
                   'ELSE (x->>''level'') || '' '' || (x->>''similarity'') END || '' ('' || (x->>''field'') || '')'', '', '' '
                   'ORDER BY (x->>''weight'')::float8 DESC) FROM jsonb_array_elements(m.explanation->''fields'') x '
                   'WHERE (x->>''weight'')::float8 > 0) '
                   'FROM %s t CROSS JOIN LATERAL @extschema@.score_rows(%L, to_jsonb($1), to_jsonb(t), true) m '
                   'WHERE (%s) AND t.%I IS DISTINCT FROM ($1).%I AND m.score >= $2 ORDER BY m.score DESC, 1 LIMIT 3',
                   idcol, tbl, profile, array_to_string(conds, ' OR '), idcol, idcol));

    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.guard_trigger(%L)',
                   'crmdedup_guard_' || gname,
                   (SELECT string_agg(quote_ident(c), ', ') FROM unnest(cols) c), tbl, gname);
    RETURN gname;
END;
$$;

COMMENT ON FUNCTION @extschema@.guard(text, text, text, text[], float8, text) IS
'attach a guard (block, flag or link duplicates) to the table of a profile; creates the indexes it needs';

CREATE FUNCTION @extschema@.unguard(name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
BEGIN
    SELECT * INTO g FROM @extschema@.guards gd WHERE gd.name = unguard.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'guard "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', 'crmdedup_guard_' || g.name, g.table_oid);
    DELETE FROM @extschema@.guards gd WHERE gd.name = g.name;
END;
$$;

COMMENT ON FUNCTION @extschema@.unguard(text) IS 'remove a guard and its trigger (the indexes stay)';

-- resolve(): a person's decision on a flagged pair
CREATE FUNCTION @extschema@.resolve(review_id bigint, decision text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    mid bigint;
BEGIN
    IF decision IS NULL OR decision NOT IN ('merge', 'distinct') THEN
        RAISE EXCEPTION 'invalid decision "%"', coalesce(decision, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use merge or distinct.';
    END IF;
    SELECT * INTO r FROM @extschema@.review rv WHERE rv.id = review_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'review item % does not exist', review_id USING ERRCODE = 'undefined_object';
    END IF;
    IF r.status <> 'open' THEN
        RAISE EXCEPTION 'review item % is already resolved as %', review_id, r.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF decision = 'merge' THEN
        -- the new row is folded into the existing one, with the default column rules
        CALL @extschema@.merge_text_keys(r.table_oid, r.existing_id, ARRAY[r.new_id], '{}'::jsonb, mid);
        -- other open pairs of the merged row now concern the survivor
        UPDATE @extschema@.review rv
           SET new_id = CASE WHEN rv.new_id = r.new_id THEN r.existing_id ELSE rv.new_id END,
               existing_id = CASE WHEN rv.existing_id = r.new_id THEN r.existing_id ELSE rv.existing_id END
         WHERE rv.table_oid = r.table_oid AND rv.status = 'open' AND rv.id <> r.id
           AND r.new_id IN (rv.new_id, rv.existing_id);
        UPDATE @extschema@.review rv SET status = 'merge', resolved_at = now(), resolved_by = current_user
         WHERE rv.table_oid = r.table_oid AND rv.status = 'open' AND rv.new_id = rv.existing_id;
        -- a pair a person already called distinct stays decided
        UPDATE @extschema@.review rv SET status = 'distinct', resolved_at = now(), resolved_by = current_user
         WHERE rv.table_oid = r.table_oid AND rv.status = 'open'
           AND EXISTS (SELECT 1 FROM @extschema@.review d
                        WHERE d.table_oid = rv.table_oid AND d.status = 'distinct'
                          AND ((d.new_id = rv.new_id AND d.existing_id = rv.existing_id)
                            OR (d.new_id = rv.existing_id AND d.existing_id = rv.new_id)));
    END IF;
    UPDATE @extschema@.review rv SET status = decision, resolved_at = now(), resolved_by = current_user
     WHERE rv.id = review_id;
END;
$$;

COMMENT ON FUNCTION @extschema@.resolve(bigint, text) IS
'decide a flagged pair: merge (the new row into the existing one) or distinct (never flagged again)';
-- Merges: one survivor takes the rows that duplicate it.  Column values follow rules, every row
-- that references a loser (foreign keys found in the catalogs, or tables named in the rules) is
-- re-pointed to the survivor, the losers are deleted or marked, and everything is logged in
-- crmdedup.merge_log so that crmdedup.unmerge() can put it back.
--
-- All of it runs with the caller's rights (SECURITY INVOKER); table and column names are only
-- ever spliced into SQL through regclass output and format('%I').  The procedures pin the
-- settings that decide how values print (DateStyle, IntervalStyle, extra_float_digits,
-- bytea_output, lc_monetary) so that row images read back exactly in another session.

CREATE TABLE @extschema@.merge_log (
    merge_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tbl regclass NOT NULL,
    key_column text NOT NULL,
    survivor text NOT NULL,
    losers text[] NOT NULL,
    mode text NOT NULL CHECK (mode OPERATOR(pg_catalog.=) ANY (ARRAY['delete', 'mark'])),
    rules jsonb NOT NULL,
    survivor_before jsonb NOT NULL,
    survivor_before_text text,
    survivor_after jsonb NOT NULL,
    loser_rows jsonb NOT NULL,
    moved jsonb NOT NULL,
    removed jsonb NOT NULL,
    discarded jsonb NOT NULL,
    merged_by name NOT NULL DEFAULT CURRENT_USER,
    merged_by_session name NOT NULL DEFAULT SESSION_USER,
    merged_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    xact_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    unmerged_at timestamptz,
    unmerged_by name,
    unmerged_by_session name
);

CREATE INDEX merge_log_survivor_idx ON @extschema@.merge_log (tbl, survivor);
CREATE INDEX merge_log_losers_idx ON @extschema@.merge_log USING gin (losers);

COMMENT ON TABLE @extschema@.merge_log IS
'one row per crmdedup.merge(): who, when, the survivor before and after, every loser row in full, every child row moved or removed (kept by pg_dump)';
COMMENT ON COLUMN @extschema@.merge_log.survivor IS 'key of the survivor, as text';
COMMENT ON COLUMN @extschema@.merge_log.losers IS 'keys of the losers as text, in the order given (their priority)';
COMMENT ON COLUMN @extschema@.merge_log.survivor_before_text IS
'the survivor row as a record literal, only when the jsonb image does not read back exactly (json columns, array bounds)';
COMMENT ON COLUMN @extschema@.merge_log.loser_rows IS
'[{"key", "row" (jsonb), "text" (record literal, when needed), "after" (mark mode)}] in the order of losers';
COMMENT ON COLUMN @extschema@.merge_log.moved IS
'[{"table", "constraint", "key" (primary key of the child row, or null: then "row" identifies it), "old", "new", "row" (after the move)}]';
COMMENT ON COLUMN @extschema@.merge_log.removed IS
'[{"table", "constraint", "conflict" (the unique constraint), "old", "row", "text"}]: child rows removed because the survivor already had them';
COMMENT ON COLUMN @extschema@.merge_log.discarded IS
'{column: [{"key", "value"}]}: every non-null value of the survivor or a loser that is not in the merged row';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.merge_log', '');
SELECT pg_catalog.pg_extension_config_dump(
    pg_catalog.pg_get_serial_sequence('@extschema@.merge_log', 'merge_id')::pg_catalog.regclass, '');

-- The log holds whole rows of CRM tables: a role sees the merges it made, and members of the
-- merged table's owner see all merges of that table.  Only the unmerge columns can be updated.
ALTER TABLE @extschema@.merge_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY merge_log_read ON @extschema@.merge_log FOR SELECT
    USING (merged_by OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                       WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'));
CREATE POLICY merge_log_insert ON @extschema@.merge_log FOR INSERT
    WITH CHECK (merged_by OPERATOR(pg_catalog.=) CURRENT_USER
                AND merged_by_session OPERATOR(pg_catalog.=) SESSION_USER
                AND unmerged_at IS NULL);
CREATE POLICY merge_log_update ON @extschema@.merge_log FOR UPDATE
    USING (merged_by OPERATOR(pg_catalog.=) CURRENT_USER
           OR pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                       WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'));
CREATE POLICY merge_log_delete ON @extschema@.merge_log FOR DELETE
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE'));
GRANT SELECT, INSERT, DELETE ON @extschema@.merge_log TO PUBLIC;
GRANT UPDATE (unmerged_at, unmerged_by, unmerged_by_session) ON @extschema@.merge_log TO PUBLIC;

-- RAISE with a DETAIL and a HINT that may be NULL (PL/pgSQL refuses NULL options).
CREATE FUNCTION @extschema@.merge_fail(code text, msg text, detail text DEFAULT NULL, hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, HINT = hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg, DETAIL = detail, HINT = hint;
    END IF;
END;
$$;

-- "(src->>'a')::type_a, (src->>'b')::type_b" for columns of rel, optionally "AS <prefix>N".
-- Types without typmod: the value comes from a column of the same type, assignment applies it.
CREATE FUNCTION @extschema@.merge_cast_list(rel regclass, cols text[], src text, alias_prefix text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r text;
    n int;
BEGIN
    SELECT string_agg(format('(%s->>%L)::%s', src, u.c, format_type(a.atttypid, NULL))
                      || CASE WHEN alias_prefix IS NULL THEN '' ELSE ' AS ' || alias_prefix || u.o END,
                      ', ' ORDER BY u.o),
           count(a.attname)
      INTO r, n
      FROM unnest(cols) WITH ORDINALITY AS u(c, o)
      LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = u.c AND a.attnum > 0 AND NOT a.attisdropped;
    IF n IS DISTINCT FROM cardinality(cols) THEN
        RAISE EXCEPTION 'merge: a column of % named in %s does not exist', rel, cols
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN r;
END;
$$;

-- The key a list element or a concatenated value is deduplicated by.
CREATE FUNCTION @extschema@.merge_element_key(kind text, region text, e jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
BEGIN
    IF kind IS NULL OR kind = 'text' THEN
        RETURN e::text;
    END IF;
    t := CASE jsonb_typeof(e)
             WHEN 'string' THEN e #>> '{}'
             WHEN 'object' THEN coalesce(e->>'value', e->>'phone', e->>'email', e->>'number', e->>'address', e->>'name')
             WHEN 'number' THEN e #>> '{}'
         END;
    IF t IS NULL THEN
        RETURN e::text;
    END IF;
    RETURN coalesce(CASE kind
                        WHEN 'phone' THEN @extschema@.phone_e164(t, region)
                        WHEN 'email' THEN @extschema@.email_key(t)
                        WHEN 'name' THEN @extschema@.name_key(t)
                    END,
                    btrim(t));
END;
$$;

-- Check the rules against the table and the catalogs; returns everything merge needs to know.
CREATE FUNCTION @extschema@.merge_compile(tbl regclass, rules jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    w jsonb;
    relkind "char";
    cols jsonb;
    keycol text;
    keytype text;
    markcol text;
    region text := 'ZZ';
    conflicts text := 'remove';
    dflt text := 'first';
    specs jsonb := '{}';
    spec jsonb;
    rule text;
    refs jsonb := '[]';
    fixed text[] := '{}';
    selfcols text[] := '{}';
    skip text[];
    out_cols jsonb := '[]';
    r record;
    child regclass;
    fcols text[];
    tcol text;
    ancestors oid[];
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'merge: the table must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT c.relkind INTO relkind FROM pg_class c WHERE c.oid = tbl;
    IF relkind IS NULL OR relkind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION 'merge: % is not a table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    rules := coalesce(rules, '{}');
    IF jsonb_typeof(rules) <> 'object' THEN
        RAISE EXCEPTION 'invalid merge rules: they must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR k IN SELECT jsonb_object_keys(rules) LOOP
        IF k NOT IN ('key', 'columns', 'default', 'mark', 'references', 'region', 'child_conflicts') THEN
            RAISE EXCEPTION 'invalid merge rules: unknown key "%"', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Known keys: key, columns, default, mark, references, region, child_conflicts.';
        END IF;
    END LOOP;
    ancestors := ARRAY[tbl::oid] || ARRAY(SELECT p.relid::oid FROM pg_partition_ancestors(tbl) AS p);

    SELECT jsonb_object_agg(a.attname, jsonb_build_object(
               'num', a.attnum,
               'type', format_type(a.atttypid, NULL),
               'generated', a.attgenerated <> '',
               'notnull', a.attnotnull,
               'kind', CASE WHEN t.typcategory = 'A' THEN 'array'
                            WHEN b.bt IN ('pg_catalog.json'::regtype, 'pg_catalog.jsonb'::regtype) THEN 'json'
                            WHEN t.typcategory = 'S' THEN 'string'
                            ELSE 'other' END))
      INTO cols
      FROM pg_attribute a
      JOIN pg_type t ON t.oid = a.atttypid
      CROSS JOIN LATERAL (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END AS bt) AS b
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped;

    -- the key: named, or the single-column primary key; it must be unique on its own
    IF rules ? 'key' THEN
        IF jsonb_typeof(rules->'key') <> 'string' THEN
            RAISE EXCEPTION 'invalid merge rules: "key" must be a column name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        keycol := rules->>'key';
        IF NOT cols ? keycol THEN
            RAISE EXCEPTION 'invalid merge rules: "key": column "%" does not exist in %', keycol, tbl
                USING ERRCODE = 'undefined_column';
        END IF;
    ELSE
        keycol := @extschema@.primary_key_column(tbl);
        IF keycol IS NULL THEN
            RAISE EXCEPTION 'merge: table % has no single-column primary key', tbl
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name a key column that has a unique index of its own: {"key": "..."}.';
        END IF;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indrelid = tbl AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL
                      AND i.indkey[0] = (cols->keycol->>'num')::int2) THEN
        RAISE EXCEPTION 'merge: key column "%" of % has no unique index of its own', keycol, tbl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    keytype := cols->keycol->>'type';
    fixed := fixed || keycol;

    IF rules ? 'mark' AND jsonb_typeof(rules->'mark') <> 'null' THEN
        IF jsonb_typeof(rules->'mark') <> 'string' THEN
            RAISE EXCEPTION 'invalid merge rules: "mark" must be a column name' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        markcol := rules->>'mark';
        IF NOT cols ? markcol THEN
            RAISE EXCEPTION 'invalid merge rules: "mark": column "%" does not exist in %', markcol, tbl
                USING ERRCODE = 'undefined_column';
        END IF;
        IF markcol = keycol OR (cols->markcol->>'generated')::boolean THEN
            RAISE EXCEPTION 'invalid merge rules: "mark": column "%" cannot be written', markcol
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'It is the key or a generated column.';
        END IF;
        fixed := fixed || markcol;
    END IF;

    IF rules ? 'region' THEN
        IF jsonb_typeof(rules->'region') <> 'string' THEN
            RAISE EXCEPTION 'invalid merge rules: "region" must be a region code' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        region := rules->>'region';
        PERFORM @extschema@.phone_e164('0', region);
    END IF;
    IF rules ? 'child_conflicts' THEN
        conflicts := rules->>'child_conflicts';
        IF jsonb_typeof(rules->'child_conflicts') <> 'string' OR conflicts NOT IN ('remove', 'error') THEN
            RAISE EXCEPTION 'invalid merge rules: "child_conflicts" must be "remove" or "error"'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF rules ? 'default' THEN
        dflt := rules->>'default';
        IF jsonb_typeof(rules->'default') <> 'string' OR dflt NOT IN ('first', 'keep') THEN
            RAISE EXCEPTION 'invalid merge rules: "default" must be "first" or "keep"'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;

    -- every foreign key that references the table (or a partitioned table it belongs to);
    -- constraints cloned onto partitions are covered by their parent
    FOR r IN
        SELECT c.conname::text AS conname, c.conrelid::regclass AS child, c.conkey, c.confdeltype::text AS confdeltype,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS u(n, o)
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.n ORDER BY u.o) AS fcols,
               ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY AS u(n, o)
                       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = u.n ORDER BY u.o) AS pcols
          FROM pg_constraint c
         WHERE c.contype = 'f' AND c.conparentid = 0 AND c.confrelid = ANY (ancestors)
         ORDER BY c.conrelid::regclass::text, c.conname
    LOOP
        refs := refs || jsonb_build_array(@extschema@.merge_ref_info(r.child, r.fcols, r.pcols, r.conname,
                                                                     r.child::oid = ANY (ancestors))
                                          || jsonb_build_object('on_delete', r.confdeltype));
        fixed := fixed || r.pcols;
        IF r.child::oid = ANY (ancestors) THEN
            selfcols := selfcols || r.fcols;
        END IF;
    END LOOP;

    -- tables that hold keys of this table without a foreign key
    IF rules ? 'references' THEN
        IF jsonb_typeof(rules->'references') <> 'array' THEN
            RAISE EXCEPTION 'invalid merge rules: "references" must be a list of {"table": ..., "column": ...}'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v IN SELECT e FROM jsonb_array_elements(rules->'references') AS e LOOP
            IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v->'table') IS DISTINCT FROM 'string'
               OR jsonb_typeof(v->'column') IS DISTINCT FROM 'string'
               OR (v ? 'to' AND jsonb_typeof(v->'to') <> 'string')
               OR EXISTS (SELECT 1 FROM jsonb_object_keys(v) AS x WHERE x NOT IN ('table', 'column', 'to')) THEN
                RAISE EXCEPTION 'invalid merge rules: "references": % is not {"table": ..., "column": ..., "to": ...}', v
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            BEGIN
                child := (v->>'table')::regclass;
            EXCEPTION WHEN undefined_table OR invalid_name OR invalid_schema_name THEN
                RAISE EXCEPTION 'invalid merge rules: "references": table % does not exist', v->>'table'
                    USING ERRCODE = 'undefined_table',
                          HINT = 'Write the table name with its schema: "crm.notes_log".';
            END;
            IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = child AND c.relkind IN ('r', 'p')) THEN
                RAISE EXCEPTION 'invalid merge rules: "references": % is not a table', child
                    USING ERRCODE = 'wrong_object_type';
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = child AND a.attname = v->>'column'
                              AND a.attnum > 0 AND NOT a.attisdropped) THEN
                RAISE EXCEPTION 'invalid merge rules: "references": column "%" does not exist in %', v->>'column', child
                    USING ERRCODE = 'undefined_column';
            END IF;
            tcol := coalesce(v->>'to', keycol);
            IF NOT cols ? tcol THEN
                RAISE EXCEPTION 'invalid merge rules: "references": column "%" does not exist in %', tcol, tbl
                    USING ERRCODE = 'undefined_column';
            END IF;
            fcols := ARRAY[v->>'column'];
            -- a foreign key already covers it
            CONTINUE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(refs) AS x
                                   WHERE (x->>'table')::regclass = child AND x->'columns' = to_jsonb(fcols));
            refs := refs || jsonb_build_array(@extschema@.merge_ref_info(child, fcols, ARRAY[tcol], NULL,
                                                                         child::oid = ANY (ancestors)));
            fixed := fixed || tcol;
        END LOOP;
    END IF;

    FOR k IN SELECT x.key FROM jsonb_each(cols) AS x WHERE (x.value->>'generated')::boolean LOOP
        fixed := fixed || k;
    END LOOP;

    -- column rules
    IF rules ? 'columns' THEN
        IF jsonb_typeof(rules->'columns') <> 'object' THEN
            RAISE EXCEPTION 'invalid merge rules: "columns" must be an object {column: rule}'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR k, v IN SELECT x.key, x.value FROM jsonb_each(rules->'columns') AS x LOOP
            IF NOT cols ? k THEN
                RAISE EXCEPTION 'invalid merge rules: column "%" does not exist in %', k, tbl
                    USING ERRCODE = 'undefined_column';
            END IF;
            spec := CASE jsonb_typeof(v) WHEN 'string' THEN jsonb_build_object('rule', v) WHEN 'object' THEN v END;
            IF spec IS NULL OR jsonb_typeof(spec->'rule') IS DISTINCT FROM 'string' THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": a rule is a name or {"rule": name, ...}', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            rule := spec->>'rule';
            IF rule NOT IN ('keep', 'first', 'from', 'longest', 'newest', 'oldest', 'max', 'min', 'union', 'concat') THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": unknown rule "%"', k, rule
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Rules: keep, first, from, longest, newest, oldest, max, min, union, concat.';
            END IF;
            FOR w IN SELECT to_jsonb(x) FROM jsonb_object_keys(spec) AS x
                      WHERE x NOT IN ('rule', 'by', 'kind', 'separator', 'key', 'region') LOOP
                RAISE EXCEPTION 'invalid merge rules: column "%": unknown key %', k, w
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A rule object may have: rule, by, kind, separator, key, region.';
            END LOOP;
            IF k = ANY (fixed) AND rule <> 'keep' THEN
                RAISE EXCEPTION 'invalid merge rules: column "%" always keeps the survivor''s value', k
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = 'It is the key, a column other rows reference, a generated column or the mark column.';
            END IF;
            IF rule IN ('newest', 'oldest') THEN
                IF jsonb_typeof(spec->'by') IS DISTINCT FROM 'string' OR NOT cols ? (spec->>'by') THEN
                    RAISE EXCEPTION 'invalid merge rules: column "%": rule "%" needs "by", an existing column', k, rule
                        USING ERRCODE = 'invalid_parameter_value',
                              HINT = 'For example {"rule": "newest", "by": "updated_at"}.';
                END IF;
            ELSIF spec ? 'by' THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": "by" belongs to newest and oldest', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF spec ? 'kind' THEN
                IF rule NOT IN ('union', 'concat') OR jsonb_typeof(spec->'kind') <> 'string'
                   OR spec->>'kind' NOT IN ('phone', 'email', 'name', 'text') THEN
                    RAISE EXCEPTION 'invalid merge rules: column "%": "kind" is phone, email, name or text, for union and concat', k
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
            END IF;
            IF spec ? 'region' THEN
                IF jsonb_typeof(spec->'region') <> 'string' THEN
                    RAISE EXCEPTION 'invalid merge rules: column "%": "region" must be a region code', k
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                PERFORM @extschema@.phone_e164('0', spec->>'region');
            END IF;
            IF spec ? 'separator' AND (rule <> 'concat' OR jsonb_typeof(spec->'separator') <> 'string') THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": "separator" is a string, for concat', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF rule = 'union' AND cols->k->>'kind' NOT IN ('array', 'json') THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": rule "union" needs an array, json or jsonb column', k
                    USING ERRCODE = 'datatype_mismatch';
            END IF;
            IF rule = 'concat' AND cols->k->>'kind' <> 'string' THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": rule "concat" needs a text column', k
                    USING ERRCODE = 'datatype_mismatch';
            END IF;
            IF rule = 'from' THEN
                IF jsonb_typeof(spec->'key') IS DISTINCT FROM 'string' AND jsonb_typeof(spec->'key') IS DISTINCT FROM 'number' THEN
                    RAISE EXCEPTION 'invalid merge rules: column "%": rule "from" needs "key", the key of the row to take it from', k
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                EXECUTE format('SELECT ($1)::%s::text', keytype) INTO tcol USING spec->>'key';
                spec := spec || jsonb_build_object('key', tcol);
            ELSIF spec ? 'key' THEN
                RAISE EXCEPTION 'invalid merge rules: column "%": "key" belongs to rule "from"', k
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            specs := specs || jsonb_build_object(k, spec);
        END LOOP;
    END IF;

    skip := fixed;
    FOR k IN SELECT x.key FROM jsonb_each(cols) AS x ORDER BY (x.value->>'num')::int LOOP
        CONTINUE WHEN k = ANY (fixed);
        spec := coalesce(specs->k, jsonb_build_object('rule', dflt));
        IF spec->>'rule' IN ('union', 'concat') THEN
            skip := skip || k;
        END IF;
        CONTINUE WHEN spec->>'rule' = 'keep';
        out_cols := out_cols || jsonb_build_array(spec || jsonb_build_object('name', k, 'type_kind', cols->k->>'kind'));
    END LOOP;

    RETURN jsonb_build_object(
        'table', tbl::text,
        'key', keycol,
        'key_type', keytype,
        'mark', markcol,
        'mark_type', cols->markcol->>'type',
        'region', region,
        'child_conflicts', conflicts,
        'columns', out_cols,
        'refs', refs,
        'self_columns', to_jsonb(selfcols),
        'discard_skip', to_jsonb(skip));
END;
$$;

-- What merge needs to know about a table that references the merged one.
CREATE FUNCTION @extschema@.merge_ref_info(child regclass, fcols text[], pcols text[], conname text, is_self boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    attnums int2[];
    ident text[];
BEGIN
    SELECT array_agg(a.attnum ORDER BY u.o) INTO attnums
      FROM unnest(fcols) WITH ORDINALITY AS u(c, o)
      JOIN pg_attribute a ON a.attrelid = child AND a.attname = u.c AND a.attnum > 0 AND NOT a.attisdropped;
    -- a row identity for the log: the primary key, else a unique index on NOT NULL columns,
    -- else none (the whole row identifies it)
    SELECT ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(n, o)
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n
                  WHERE u.o <= i.indnkeyatts ORDER BY u.o)
      INTO ident
      FROM pg_index i
     WHERE i.indrelid = child AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indimmediate
       AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS u(n, o)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = u.n
                        WHERE u.o <= i.indnkeyatts AND NOT a.attnotnull)
     ORDER BY i.indisprimary DESC, i.indnkeyatts, i.indexrelid
     LIMIT 1;
    RETURN jsonb_build_object(
        'table', child::text,
        'constraint', conname,
        'columns', to_jsonb(fcols),
        'refcolumns', to_jsonb(pcols),
        'self', is_self,
        'identity', to_jsonb(ident),
        'nullable', NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = child AND a.attnum = ANY (attnums)
                                   AND a.attnotnull),
        -- could re-pointing violate a unique index or exclusion constraint of the child?
        'unique_risk', EXISTS (SELECT 1 FROM pg_index i
                                WHERE i.indrelid = child AND (i.indisunique OR i.indisexclusion)
                                  AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
                                       OR i.indkey::int2[] && attnums)),
        -- do other tables reference the child (so that removing a row of it could cascade)?
        'referenced', EXISTS (SELECT 1 FROM pg_constraint x
                               WHERE x.contype = 'f'
                                 AND (x.confrelid = child
                                      OR x.confrelid IN (SELECT p.relid FROM pg_partition_tree(child) AS p))));
END;
$$;

-- Every table whose rows merge re-points, and how.
CREATE FUNCTION @extschema@.merge_references(tbl regclass, rules jsonb DEFAULT '{}')
RETURNS TABLE (child regclass, constraint_name text, columns text[], referenced_columns text[], row_identity text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT (e->>'table')::regclass, e->>'constraint',
           ARRAY(SELECT jsonb_array_elements_text(e->'columns')),
           ARRAY(SELECT jsonb_array_elements_text(e->'refcolumns')),
           CASE WHEN jsonb_typeof(e->'identity') = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(e->'identity')) END
      FROM jsonb_array_elements(@extschema@.merge_compile(tbl, rules)->'refs') AS e;
END;
$$;

-- A JSON list (or object) of the union of a column's values, in priority order.
CREATE FUNCTION @extschema@.merge_union(rows jsonb[], col text, kind text, region text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    objs int;
    lists int;
    res jsonb := '{}';
    i int;
BEGIN
    SELECT count(*) FILTER (WHERE jsonb_typeof(x->col) = 'object'),
           count(*) FILTER (WHERE jsonb_typeof(x->col) NOT IN ('object', 'null'))
      INTO objs, lists
      FROM unnest(rows) AS x;
    IF objs > 0 AND lists > 0 THEN
        RAISE EXCEPTION 'merge: rule "union" of column "%": the rows mix JSON objects with lists', col
            USING ERRCODE = 'datatype_mismatch';
    END IF;
    IF objs > 0 THEN
        -- keys of earlier rows win
        FOR i IN REVERSE cardinality(rows)..1 LOOP
            IF jsonb_typeof(rows[i]->col) = 'object' THEN
                res := res || (rows[i]->col);
            END IF;
        END LOOP;
        RETURN res;
    END IF;
    IF lists = 0 THEN
        RETURN rows[1]->col;
    END IF;
    SELECT jsonb_agg(d.e ORDER BY d.o, d.eo) INTO res
      FROM (SELECT DISTINCT ON (s.k) s.e, s.o, s.eo
              FROM (SELECT x.o, a.eo, a.e, @extschema@.merge_element_key(kind, region, a.e) AS k
                      FROM unnest(rows) WITH ORDINALITY AS x(r, o)
                     CROSS JOIN LATERAL jsonb_array_elements(
                               CASE WHEN jsonb_typeof(x.r->col) = 'array' THEN x.r->col
                                    ELSE jsonb_build_array(x.r->col) END) WITH ORDINALITY AS a(e, eo)
                     WHERE jsonb_typeof(x.r->col) <> 'null' AND jsonb_typeof(a.e) <> 'null') AS s
             ORDER BY s.k, s.o, s.eo) AS d;
    RETURN coalesce(res, '[]');
END;
$$;

-- The survivor's row after the merge, from the rows in priority order (survivor first, then the
-- losers in the order given) and the compiled rules; and the values that do not survive.
CREATE FUNCTION @extschema@.merge_resolve(c jsonb, rows jsonb[], keys text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := (c->>'table')::regclass;
    n int := cardinality(rows);
    after jsonb := rows[1];
    col jsonb;
    fk jsonb;
    nm text;
    region text;
    val jsonb;
    v jsonb;
    i int;
    j int;
    best int;
    len int;
    bestlen int;
    hit boolean;
    fcols text[];
    pcols text[];
    discarded jsonb;
BEGIN
    FOR col IN SELECT e FROM jsonb_array_elements(c->'columns') AS e LOOP
        nm := col->>'name';
        region := coalesce(col->>'region', c->>'region');
        val := NULL;
        CASE col->>'rule'
        WHEN 'first' THEN
            FOR i IN 1..n LOOP
                v := rows[i]->nm;
                IF jsonb_typeof(v) <> 'null' THEN
                    val := v;
                    EXIT;
                END IF;
            END LOOP;
        WHEN 'from' THEN
            i := array_position(keys, col->>'key');
            IF i IS NULL THEN
                RAISE EXCEPTION 'merge: rule "from" of column "%": % is neither the survivor nor a loser', nm, col->>'key'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            val := rows[i]->nm;
        WHEN 'longest' THEN
            bestlen := -1;
            FOR i IN 1..n LOOP
                v := rows[i]->nm;
                IF jsonb_typeof(v) <> 'null' THEN
                    len := length(rows[i]->>nm);
                    IF len > bestlen THEN
                        bestlen := len;
                        val := v;
                    END IF;
                END IF;
            END LOOP;
        WHEN 'newest', 'oldest', 'max', 'min' THEN
            -- compare as the column's own type; ties go to the earlier row
            EXECUTE format('SELECT x.o FROM unnest($1) WITH ORDINALITY AS x(r, o), '
                           'LATERAL jsonb_populate_record(NULL::%s, x.r) AS p '
                           'WHERE p.%I IS NOT NULL ORDER BY p.%I %s NULLS LAST, x.o LIMIT 1',
                           tbl, nm, coalesce(col->>'by', nm),
                           CASE WHEN col->>'rule' IN ('newest', 'max') THEN 'DESC' ELSE 'ASC' END)
               INTO best USING rows;
            IF best IS NOT NULL THEN
                val := rows[best]->nm;
            END IF;
        WHEN 'concat' THEN
            SELECT to_jsonb(string_agg(d.t, coalesce(col->>'separator', E'\n') ORDER BY d.o)) INTO val
              FROM (SELECT DISTINCT ON (s.k) s.t, s.o
                      FROM (SELECT x.r->>nm AS t, x.o,
                                   @extschema@.merge_element_key(coalesce(col->>'kind', 'text'), region,
                                                                 to_jsonb(btrim(x.r->>nm))) AS k
                              FROM unnest(rows) WITH ORDINALITY AS x(r, o)) AS s
                     WHERE btrim(s.t) <> ''
                     ORDER BY s.k, s.o) AS d;
            IF val IS NULL THEN
                val := rows[1]->nm;
            END IF;
        WHEN 'union' THEN
            val := @extschema@.merge_union(rows, nm, col->>'kind', region);
        END CASE;
        after := after || jsonb_build_object(nm, val);
    END LOOP;

    -- a self-reference of the survivor must not end up pointing at a loser or at itself
    FOR fk IN SELECT e FROM jsonb_array_elements(c->'refs') AS e WHERE (e->>'self')::boolean LOOP
        fcols := ARRAY(SELECT jsonb_array_elements_text(fk->'columns'));
        pcols := ARRAY(SELECT jsonb_array_elements_text(fk->'refcolumns'));
        FOR i IN 1..n LOOP
            hit := true;
            FOR j IN 1..cardinality(fcols) LOOP
                IF jsonb_typeof(after->fcols[j]) IS DISTINCT FROM jsonb_typeof(rows[i]->pcols[j])
                   OR jsonb_typeof(after->fcols[j]) = 'null' OR after->fcols[j] <> rows[i]->pcols[j] THEN
                    hit := false;
                    EXIT;
                END IF;
            END LOOP;
            -- the survivor's own reference to itself, if it had one before, is its business
            IF hit AND i = 1 THEN
                hit := EXISTS (SELECT 1 FROM unnest(fcols) AS f WHERE after->f IS DISTINCT FROM rows[1]->f);
            END IF;
            EXIT WHEN hit;
        END LOOP;
        IF hit THEN
            FOR j IN 1..cardinality(fcols) LOOP
                after := after || jsonb_build_object(fcols[j],
                    CASE WHEN (fk->>'nullable')::boolean THEN 'null'::jsonb ELSE rows[1]->pcols[j] END);
            END LOOP;
        END IF;
    END LOOP;

    SELECT coalesce(jsonb_object_agg(s.colname, s.vals), '{}') INTO discarded
      FROM (SELECT e.key AS colname, jsonb_agg(jsonb_build_object('key', x.k, 'value', e.value) ORDER BY x.o) AS vals
              FROM unnest(rows, keys) WITH ORDINALITY AS x(r, k, o)
             CROSS JOIN LATERAL jsonb_each(x.r) AS e
             WHERE jsonb_typeof(e.value) <> 'null' AND e.value IS DISTINCT FROM after->e.key
               AND NOT (c->'discard_skip') ? e.key
             GROUP BY e.key) AS s;

    RETURN jsonb_build_object('after', after, 'discarded', discarded);
END;
$$;

-- Clear errors before anything is locked or changed.
CREATE FUNCTION @extschema@.merge_check_privileges(c jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := (c->>'table')::regclass;
    ref jsonb;
    child regclass;
BEGIN
    IF NOT has_table_privilege(tbl, 'SELECT') OR NOT has_any_column_privilege(tbl, 'UPDATE')
       OR (c->>'mark' IS NULL AND NOT has_table_privilege(tbl, 'DELETE')) THEN
        RAISE EXCEPTION 'permission denied to merge rows of %', tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Role %I needs SELECT, UPDATE and DELETE on %s (SELECT and UPDATE with "mark").',
                                  current_user, tbl);
    END IF;
    FOR ref IN SELECT e FROM jsonb_array_elements(c->'refs') AS e LOOP
        child := (ref->>'table')::regclass;
        IF NOT has_table_privilege(child, 'SELECT')
           OR NOT (has_table_privilege(child, 'UPDATE')
                   OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(ref->'columns') AS f
                                   WHERE NOT has_column_privilege(child, f, 'UPDATE'))) THEN
            RAISE EXCEPTION 'permission denied to merge rows of %: role % cannot update %', tbl, current_user, child
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('Merging re-points the rows of %s that reference the losers (%s) to the survivor; '
                                      'that needs SELECT and UPDATE on %s.',
                                      child, coalesce('foreign key ' || quote_ident(ref->>'constraint'), 'named in the rules'), child),
                      HINT = format('The owner can run: GRANT SELECT, UPDATE ON %s TO %I;', child, current_user);
        END IF;
        -- rows hidden by row-level security would not be re-pointed; deleting the losers would
        -- then cascade to them (or leave them dangling without a foreign key)
        IF c->>'mark' IS NULL AND row_security_active(child)
           AND (ref->>'constraint' IS NULL OR ref->>'on_delete' IN ('c', 'n', 'd')) THEN
            RAISE EXCEPTION 'cannot merge rows of %: row-level security on % may hide rows that reference the losers', tbl, child
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Hidden rows would not be re-pointed, and deleting the losers would remove them or leave them dangling.',
                      HINT = 'Merge as a role that row-level security does not apply to, or keep the losers with "mark".';
        END IF;
    END LOOP;
END;
$$;

-- A merge or an unmerge resolves duplicates, so the crmdedup guard triggers on the tables it
-- writes must not take the rows it moves for new duplicates.  When the caller may pause them
-- (owner of every guarded table involved: the rule of SET crmdedup.guards = off), returns the
-- setting to restore afterwards; else NULL and the guards stay on.
CREATE FUNCTION @extschema@.merge_guards_to_pause(tables regclass[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trig regprocedure := to_regprocedure('@extschema@.guard_trigger()');
BEGIN
    IF trig IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = ANY (tables) AND t.tgfoid = trig AND t.tgenabled <> 'D')
       OR EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class k ON k.oid = t.tgrelid
                   WHERE t.tgrelid = ANY (tables) AND t.tgfoid = trig AND t.tgenabled <> 'D'
                     AND NOT pg_has_role(k.relowner, 'USAGE')) THEN
        RETURN NULL;
    END IF;
    RETURN coalesce(nullif(current_setting('crmdedup.guards', true), ''), 'on');
END;
$$;

-- The error for a survivor or loser that is not there, naming the merge that removed it.
CREATE FUNCTION @extschema@.merge_missing(tbl regclass, k text, is_survivor boolean)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
BEGIN
    SELECT l.merge_id, l.survivor INTO m
      FROM @extschema@.merge_log AS l
     WHERE l.tbl = merge_missing.tbl AND l.losers @> ARRAY[k] AND l.mode = 'delete' AND l.unmerged_at IS NULL
     ORDER BY l.merge_id DESC
     LIMIT 1;
    PERFORM @extschema@.merge_fail('P0002',
        format('%s %s of %s does not exist', CASE WHEN is_survivor THEN 'survivor' ELSE 'loser' END, k, tbl),
        CASE WHEN m.merge_id IS NOT NULL THEN format('It was merged into %s by merge %s.', m.survivor, m.merge_id) END);
END;
$$;

-- Re-point the rows of one referencing table from the losers to the survivor.  A row that
-- would duplicate one the survivor already has (a unique index of the child) is removed.
CREATE FUNCTION @extschema@.merge_repoint(c jsonb, ref jsonb, rows jsonb[], keys text[])
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    child regclass := (ref->>'table')::regclass;
    cols text[] := ARRAY(SELECT jsonb_array_elements_text(ref->'columns'));
    refcols text[] := ARRAY(SELECT jsonb_array_elements_text(ref->'refcolumns'));
    newv jsonb := '{}';
    olds jsonb := '[]';
    o jsonb;
    usable boolean;
    i int;
    j int;
    setcols text;
    matchcols text;
    newlist text;
    vsql text;
    vkeys text;
    ident text;
    ordexpr text;
    selfcond text := '';
    bulk text;
    moved jsonb := '[]';
    removed jsonb := '[]';
    rec record;
    r jsonb;
    id jsonb;
    txt text;
    exact boolean;
    cname text;
    sname text;
    tname text;
    n bigint;
BEGIN
    FOR j IN 1..cardinality(cols) LOOP
        newv := newv || jsonb_build_object(cols[j], rows[1]->refcols[j]);
    END LOOP;
    FOR i IN 2..cardinality(rows) LOOP
        o := '{}';
        usable := true;
        FOR j IN 1..cardinality(cols) LOOP
            IF jsonb_typeof(rows[i]->refcols[j]) IS DISTINCT FROM 'null' AND rows[i]->refcols[j] IS NOT NULL THEN
                o := o || jsonb_build_object(cols[j], rows[i]->refcols[j]);
            ELSE
                usable := false;    -- a NULL key matches no row
            END IF;
        END LOOP;
        IF usable THEN
            olds := olds || jsonb_build_array(o);
        END IF;
    END LOOP;
    IF olds = '[]' THEN
        RETURN jsonb_build_object('moved', moved, 'removed', removed);
    END IF;

    SELECT string_agg(format('%I', x), ', ' ORDER BY u.o), string_agg(format('c.%I', x), ', ' ORDER BY u.o),
           string_agg('v.k' || u.o, ', ' ORDER BY u.o)
      INTO setcols, matchcols, vkeys
      FROM unnest(cols) WITH ORDINALITY AS u(x, o);
    newlist := @extschema@.merge_cast_list(child, cols, '$2');
    -- the losers' keys inline (quoted), so that the planner knows how few they are and reads
    -- the child through its index rather than scanning it
    vsql := format('SELECT x.o, x.ord, %s FROM (VALUES %s) AS x(o, ord)',
                   @extschema@.merge_cast_list(child, cols, 'x.o', 'k'),
                   (SELECT string_agg(format('(%L::jsonb, %s)', e.o::text, e.ord), ', ' ORDER BY e.ord)
                      FROM jsonb_array_elements(olds) WITH ORDINALITY AS e(o, ord)));
    IF jsonb_typeof(ref->'identity') = 'array' THEN
        SELECT 'jsonb_build_object(' || string_agg(format('%L, c.%I', x, x), ', ' ORDER BY u.o) || ')',
               string_agg(format('c.%I', x), ', ' ORDER BY u.o)
          INTO ident, ordexpr
          FROM jsonb_array_elements_text(ref->'identity') WITH ORDINALITY AS u(x, o);
    ELSE
        ident := 'NULL::jsonb';
        ordexpr := 'c.ctid';
    END IF;
    IF (ref->>'self')::boolean THEN
        -- the survivor and the losers themselves are handled by merge
        selfcond := format(' AND c.%I <> ALL ($3::%s[])', c->>'key', c->>'key_type');
    END IF;

    IF EXISTS (SELECT 1 FROM jsonb_each(newv) AS e WHERE jsonb_typeof(e.value) = 'null') THEN
        EXECUTE format('WITH v AS (%s) SELECT count(*) FROM %s AS c JOIN v ON (%s) = (%s) WHERE true%s',
                       vsql, child, matchcols, vkeys, selfcond)
           INTO n USING olds, newv, keys;
        IF n > 0 THEN
            RAISE EXCEPTION 'merge: cannot re-point rows of % to the survivor: its % is NULL', child, refcols
                USING ERRCODE = 'not_null_violation';
        END IF;
        RETURN jsonb_build_object('moved', moved, 'removed', removed);
    END IF;

    bulk := format($q$WITH v AS (%1$s), m AS (
                         UPDATE %2$s AS c SET (%3$s) = ROW(%4$s) FROM v WHERE (%5$s) = (%6$s)%7$s
                         RETURNING v.o AS old, v.ord, %8$s AS ident, to_jsonb(c) AS r)
                     SELECT coalesce(jsonb_agg(jsonb_build_object('table', $4, 'constraint', $5, 'key', m.ident,
                                                                  'old', m.old, 'new', $2, 'row', m.r)
                                               ORDER BY m.ord, m.ident::text, m.r::text), '[]')
                       FROM m$q$,
                   vsql, child, setcols, newlist, matchcols, vkeys, selfcond, ident);

    IF NOT (ref->>'unique_risk')::boolean OR c->>'child_conflicts' = 'error' THEN
        EXECUTE bulk INTO moved USING olds, newv, keys, child::text, ref->>'constraint';
        RETURN jsonb_build_object('moved', moved, 'removed', removed);
    END IF;

    -- all at once when nothing collides, else one row at a time, losers in priority order
    BEGIN
        EXECUTE bulk INTO moved USING olds, newv, keys, child::text, ref->>'constraint';
        RETURN jsonb_build_object('moved', moved, 'removed', removed);
    EXCEPTION WHEN unique_violation OR exclusion_violation THEN
        moved := '[]';
    END;
    FOR rec IN EXECUTE format('WITH v AS (%s) SELECT c.tableoid AS toid, c.ctid AS tid, v.o AS old '
                              'FROM %s AS c JOIN v ON (%s) = (%s) WHERE true%s ORDER BY v.ord, %s FOR UPDATE OF c',
                              vsql, child, matchcols, vkeys, selfcond, ordexpr)
                 USING olds, newv, keys
    LOOP
        BEGIN
            EXECUTE format('UPDATE %s AS c SET (%s) = ROW(%s) WHERE c.ctid = $1 AND c.tableoid = $3 RETURNING %s, to_jsonb(c)',
                           child, setcols, newlist, ident)
               INTO id, r USING rec.tid, newv, rec.toid;
            moved := moved || jsonb_build_array(jsonb_build_object('table', child::text, 'constraint', ref->>'constraint',
                                                                   'key', id, 'old', rec.old, 'new', newv, 'row', r));
        EXCEPTION WHEN unique_violation OR exclusion_violation THEN
            GET STACKED DIAGNOSTICS cname = CONSTRAINT_NAME, sname = SCHEMA_NAME, tname = TABLE_NAME;
            IF NOT EXISTS (SELECT 1 FROM pg_class k JOIN pg_namespace s ON s.oid = k.relnamespace
                            WHERE k.relname = tname AND s.nspname = sname
                              AND (k.oid = child OR k.oid IN (SELECT p.relid FROM pg_partition_tree(child) AS p))) THEN
                RAISE;
            END IF;
            IF (ref->>'referenced')::boolean THEN
                RAISE EXCEPTION 'merge: a row of % that references a loser duplicates a row of the survivor (constraint %)',
                                child, quote_ident(cname)
                    USING ERRCODE = 'unique_violation',
                          DETAIL = format('Other tables reference %s, so removing the redundant row could cascade; nothing was merged.', child),
                          HINT = format('Merge or delete the duplicate rows of %s first.', child);
            END IF;
            EXECUTE format('DELETE FROM %1$s AS c WHERE c.ctid = $1 AND c.tableoid = $2 RETURNING to_jsonb(c), c::text, '
                           'jsonb_populate_record(NULL::%1$s, to_jsonb(c))::text IS NOT DISTINCT FROM c::text', child)
               INTO r, txt, exact USING rec.tid, rec.toid;
            removed := removed || jsonb_build_array(
                jsonb_build_object('table', child::text, 'constraint', ref->>'constraint', 'conflict', cname,
                                   'old', rec.old, 'row', r)
                || CASE WHEN exact THEN '{}'::jsonb ELSE jsonb_build_object('text', txt) END);
        END;
    END LOOP;
    RETURN jsonb_build_object('moved', moved, 'removed', removed);
END;
$$;

-- UPDATE of some columns of one row of tbl to the values of a full row image.
CREATE FUNCTION @extschema@.merge_set_columns(tbl regclass, keycol text, keytype text, k text, cols text[], img jsonb, txt text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    setcols text;
    srccols text;
    r jsonb;
BEGIN
    SELECT string_agg(format('%I', x), ', ' ORDER BY x), string_agg(format('(s.r).%I', x), ', ' ORDER BY x)
      INTO setcols, srccols
      FROM unnest(cols) AS x;
    EXECUTE format('UPDATE %1$s AS t SET (%2$s) = (SELECT %3$s FROM (SELECT CASE WHEN $2 IS NULL '
                   'THEN jsonb_populate_record(NULL::%1$s, $1) ELSE $2::%1$s END AS r) AS s) '
                   'WHERE t.%4$I = $3::%5$s RETURNING to_jsonb(t)',
                   tbl, setcols, srccols, keycol, keytype)
       INTO r USING img, txt, k;
    IF r IS NULL THEN
        RAISE EXCEPTION 'merge: could not update row % of %', k, tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The row is there but the update did not reach it: a row-level security policy?';
    END IF;
    RETURN r;
END;
$$;

-- INSERT a full row image (a loser, or a removed child row) back with its own ids.
CREATE FUNCTION @extschema@.merge_insert_image(tbl regclass, img jsonb, txt text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    inscols text;
    srccols text;
BEGIN
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
           string_agg(format('(s.r).%I', a.attname), ', ' ORDER BY a.attnum)
      INTO inscols, srccols
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
       AND (txt IS NOT NULL OR img ? a.attname);
    EXECUTE format('INSERT INTO %1$s (%2$s) OVERRIDING SYSTEM VALUE SELECT %3$s FROM (SELECT CASE WHEN $2 IS NULL '
                   'THEN jsonb_populate_record(NULL::%1$s, $1) ELSE $2::%1$s END AS r) AS s',
                   tbl, inscols, srccols)
       USING img, txt;
END;
$$;

-- The merge itself, with keys as text (what auto_merge and the typed wrapper call).
CREATE PROCEDURE @extschema@.merge_text_keys(tbl regclass, keep text, losers text[], rules jsonb DEFAULT '{}',
                                             INOUT merge_id bigint DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET extra_float_digits = 3
SET bytea_output = 'hex'
SET lc_monetary = 'C'
AS $$
DECLARE
    c jsonb;
    keycol text;
    keytype text;
    markcol text;
    distinct_losers bigint;
    keep_is_loser boolean;
    k text;
    img jsonb;
    txt text;
    exact boolean;
    imgs jsonb := '{}';
    texts jsonb := '{}';
    rows jsonb[];
    res jsonb;
    after jsonb;
    ref jsonb;
    moved jsonb := '[]';
    removed jsonb := '[]';
    marked jsonb := '{}';
    changed text[];
    selfcols text[];
    n bigint;
    guards text;
BEGIN
    IF keep IS NULL THEN
        RAISE EXCEPTION 'merge: the survivor''s key must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF losers IS NULL OR cardinality(losers) = 0 THEN
        RAISE EXCEPTION 'merge: name at least one loser' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position(losers, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'merge: a loser''s key must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    c := @extschema@.merge_compile(tbl, rules);
    keycol := c->>'key';
    keytype := c->>'key_type';
    markcol := c->>'mark';

    -- keys as the key column's type prints them
    EXECUTE format('SELECT $1::%1$s::text, ARRAY(SELECT u.x::%1$s::text FROM unnest($2) WITH ORDINALITY AS u(x, o) ORDER BY u.o), '
                   '(SELECT count(DISTINCT u.x::%1$s) FROM unnest($2) AS u(x)), $1::%1$s = ANY ($2::%1$s[])', keytype)
       INTO keep, losers, distinct_losers, keep_is_loser USING keep, losers;
    IF keep_is_loser THEN
        RAISE EXCEPTION 'merge: the survivor % is also listed among the losers', keep USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF distinct_losers <> cardinality(losers) THEN
        RAISE EXCEPTION 'merge: a loser is listed twice in %', losers USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM @extschema@.merge_check_privileges(c);
    guards := @extschema@.merge_guards_to_pause(
        tbl || ARRAY(SELECT (e->>'table')::regclass FROM jsonb_array_elements(c->'refs') AS e));
    IF guards IS NOT NULL THEN
        PERFORM set_config('crmdedup.guards', 'off', true);
    END IF;

    -- lock in key order, so that overlapping merges queue instead of deadlocking; the survivor
    -- keeps its key, so FOR NO KEY UPDATE lets the application add children to it meanwhile
    FOR k IN EXECUTE format('SELECT u.x::text FROM unnest($1::%s[]) AS u(x) ORDER BY u.x', keytype) USING keep || losers LOOP
        EXECUTE format('SELECT to_jsonb(t), t::text, jsonb_populate_record(NULL::%1$s, to_jsonb(t))::text IS NOT DISTINCT FROM t::text '
                       'FROM %1$s AS t WHERE t.%2$I = $1::%3$s FOR %4$s',
                       tbl, keycol, keytype, CASE WHEN k = keep THEN 'NO KEY UPDATE' ELSE 'UPDATE' END)
           INTO img, txt, exact USING k;
        IF img IS NULL THEN
            PERFORM @extschema@.merge_missing(tbl, k, k = keep);
        END IF;
        imgs := imgs || jsonb_build_object(k, img);
        IF NOT exact THEN
            texts := texts || jsonb_build_object(k, txt);
        END IF;
    END LOOP;

    IF markcol IS NOT NULL THEN
        IF jsonb_typeof(imgs->keep->markcol) <> 'null' THEN
            RAISE EXCEPTION 'merge: survivor % of % is itself marked as merged into %', keep, tbl, imgs->keep->>markcol
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        FOREACH k IN ARRAY losers LOOP
            IF jsonb_typeof(imgs->k->markcol) <> 'null' THEN
                RAISE EXCEPTION 'merge: loser % of % was already merged into %', k, tbl, imgs->k->>markcol
                    USING ERRCODE = 'object_not_in_prerequisite_state';
            END IF;
        END LOOP;
    END IF;

    rows := ARRAY[imgs->keep] || ARRAY(SELECT imgs->u.x FROM unnest(losers) WITH ORDINALITY AS u(x, o) ORDER BY u.o);
    res := @extschema@.merge_resolve(c, rows, keep || losers);
    after := res->'after';

    FOR ref IN SELECT e FROM jsonb_array_elements(c->'refs') AS e LOOP
        res := res || @extschema@.merge_repoint(c, ref, rows, keep || losers);
        moved := moved || (res->'moved');
        removed := removed || (res->'removed');
    END LOOP;

    SELECT array_agg(e.key ORDER BY e.key) INTO changed
      FROM jsonb_each(after) AS e WHERE e.value IS DISTINCT FROM rows[1]->e.key;
    selfcols := ARRAY(SELECT jsonb_array_elements_text(c->'self_columns'));
    -- a self-reference to a loser goes before the loser does; the rest after, so that a
    -- unique value can pass from a loser to the survivor
    IF changed && selfcols THEN
        PERFORM @extschema@.merge_set_columns(tbl, keycol, keytype, keep,
                                              ARRAY(SELECT x FROM unnest(changed) AS x WHERE x = ANY (selfcols)), after, NULL);
    END IF;

    IF markcol IS NULL THEN
        EXECUTE format('DELETE FROM %s AS t WHERE t.%I = ANY ($1::%s[])', tbl, keycol, keytype) USING losers;
        GET DIAGNOSTICS n = ROW_COUNT;
    ELSE
        EXECUTE format('WITH m AS (UPDATE %1$s AS t SET %2$I = $2::%4$s WHERE t.%3$I = ANY ($1::%5$s[]) '
                       'RETURNING t.%3$I::text AS k, to_jsonb(t) AS r) '
                       'SELECT count(*), coalesce(jsonb_object_agg(m.k, m.r), ''{}'') FROM m',
                       tbl, markcol, keycol, c->>'mark_type', keytype)
           INTO n, marked USING losers, keep;
    END IF;
    IF n <> cardinality(losers) THEN
        RAISE EXCEPTION 'merge: could not % every loser of %', CASE WHEN markcol IS NULL THEN 'delete' ELSE 'mark' END, tbl
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The rows are there but the statement did not reach them all: a row-level security policy?';
    END IF;

    IF cardinality(ARRAY(SELECT x FROM unnest(changed) AS x WHERE NOT x = ANY (selfcols))) > 0 THEN
        PERFORM @extschema@.merge_set_columns(tbl, keycol, keytype, keep,
                                              ARRAY(SELECT x FROM unnest(changed) AS x WHERE NOT x = ANY (selfcols)), after, NULL);
    END IF;
    -- as it is now, triggers included
    EXECUTE format('SELECT to_jsonb(t) FROM %s AS t WHERE t.%I = $1::%s', tbl, keycol, keytype) INTO after USING keep;

    INSERT INTO @extschema@.merge_log AS l
        (tbl, key_column, survivor, losers, mode, rules, survivor_before, survivor_before_text, survivor_after,
         loser_rows, moved, removed, discarded)
    VALUES (tbl, keycol, keep, losers, CASE WHEN markcol IS NULL THEN 'delete' ELSE 'mark' END, coalesce(rules, '{}'),
            rows[1], texts->>keep, after,
            (SELECT jsonb_agg(jsonb_build_object('key', u.x, 'row', imgs->u.x)
                              || CASE WHEN texts ? u.x THEN jsonb_build_object('text', texts->u.x) ELSE '{}' END
                              || CASE WHEN marked ? u.x THEN jsonb_build_object('after', marked->u.x) ELSE '{}' END
                              ORDER BY u.o)
               FROM unnest(losers) WITH ORDINALITY AS u(x, o)),
            moved, removed, res->'discarded')
    RETURNING l.merge_id INTO merge_text_keys.merge_id;
    IF guards IS NOT NULL THEN
        PERFORM set_config('crmdedup.guards', guards, true);
    END IF;
END;
$$;

CREATE PROCEDURE @extschema@.merge(tbl regclass, keep anycompatible, losers anycompatiblearray, rules jsonb DEFAULT '{}',
                                   INOUT merge_id bigint DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET extra_float_digits = 3
SET bytea_output = 'hex'
SET lc_monetary = 'C'
AS $$
BEGIN
    CALL @extschema@.merge_text_keys(tbl, keep::text, losers::text[], rules, merge_id);
END;
$$;

COMMENT ON PROCEDURE @extschema@.merge(regclass, anycompatible, anycompatiblearray, jsonb, bigint) IS
'merge the losers into the survivor keep: columns by rules, referencing rows re-pointed, losers deleted or marked, all logged in crmdedup.merge_log; returns merge_id';
COMMENT ON PROCEDURE @extschema@.merge_text_keys(regclass, text, text[], jsonb, bigint) IS
'crmdedup.merge() with the keys given as text';

-- What a merge would do, changing nothing.
CREATE FUNCTION @extschema@.merge_preview(tbl regclass, keep anycompatible, losers anycompatiblearray, rules jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET extra_float_digits = 3
SET bytea_output = 'hex'
SET lc_monetary = 'C'
AS $$
DECLARE
    c jsonb := @extschema@.merge_compile(tbl, rules);
    keys text[];
    rows jsonb[];
    img jsonb;
    res jsonb;
    ref jsonb;
    children jsonb := '[]';
    n bigint;
    k text;
BEGIN
    IF keep IS NULL OR losers IS NULL OR cardinality(losers) = 0 OR array_position(losers, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'merge: name a survivor and at least one loser, none of them NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT ARRAY(SELECT u.x::%1$s::text FROM unnest($1) WITH ORDINALITY AS u(x, o) ORDER BY u.o)', c->>'key_type')
       INTO keys USING keep::text || losers::text[];
    IF (SELECT count(DISTINCT x) FROM unnest(keys) AS x) <> cardinality(keys) THEN
        RAISE EXCEPTION 'merge: a key is listed twice in % (survivor first)', keys USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH k IN ARRAY keys LOOP
        EXECUTE format('SELECT to_jsonb(t) FROM %s AS t WHERE t.%I = $1::%s', tbl, c->>'key', c->>'key_type') INTO img USING k;
        IF img IS NULL THEN
            PERFORM @extschema@.merge_missing(tbl, k, k = keys[1]);
        END IF;
        rows := rows || img;
    END LOOP;
    res := @extschema@.merge_resolve(c, rows, keys);
    FOR ref IN SELECT e FROM jsonb_array_elements(c->'refs') AS e LOOP
        EXECUTE format('SELECT count(*) FROM %s AS c WHERE (%s) IN (SELECT %s FROM jsonb_array_elements($1) AS x(o))%s',
                       ref->>'table',
                       (SELECT string_agg(format('c.%I', x), ', ') FROM jsonb_array_elements_text(ref->'columns') AS x),
                       @extschema@.merge_cast_list((ref->>'table')::regclass,
                                                   ARRAY(SELECT jsonb_array_elements_text(ref->'columns')), 'x.o'),
                       CASE WHEN (ref->>'self')::boolean
                            THEN format(' AND c.%I <> ALL ($2::%s[])', c->>'key', c->>'key_type') ELSE '' END)
           INTO n
           USING (SELECT jsonb_agg(o) FROM (
                     SELECT jsonb_object_agg(f.c, r->(ref->'refcolumns'->>(f.o - 1)::int)) AS o
                       FROM unnest(rows[2:]) AS r, jsonb_array_elements_text(ref->'columns') WITH ORDINALITY AS f(c, o)
                      GROUP BY r) AS s),
                 keys;
        IF n > 0 THEN
            children := children || jsonb_build_array(jsonb_build_object('table', ref->>'table', 'constraint', ref->>'constraint', 'rows', n));
        END IF;
    END LOOP;
    RETURN jsonb_build_object(
        'table', tbl::text,
        'survivor', keys[1],
        'losers', to_jsonb(keys[2:]),
        'before', rows[1],
        'after', res->'after',
        'changed', coalesce((SELECT jsonb_agg(e.key ORDER BY e.key) FROM jsonb_each(res->'after') AS e
                              WHERE e.value IS DISTINCT FROM rows[1]->e.key), '[]'),
        'discarded', res->'discarded',
        'children', children);
END;
$$;

COMMENT ON FUNCTION @extschema@.merge_preview(regclass, anycompatible, anycompatiblearray, jsonb) IS
'what crmdedup.merge() would do with these arguments: the survivor before and after, values discarded, rows to re-point; changes nothing';

-- Undo a merge when nothing it touched has changed since.
CREATE PROCEDURE @extschema@.unmerge(merge_id bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET intervalstyle = 'postgres'
SET extra_float_digits = 3
SET bytea_output = 'hex'
SET lc_monetary = 'C'
AS $$
DECLARE
    l record;
    tbl regclass;
    keycol text;
    keytype text;
    markcol text;
    k text;
    cur jsonb;
    e jsonb;
    child regclass;
    fcols text[];
    idcols text[];
    idcond text;
    diff text;
    later bigint;
    n bigint;
    selfcols text[];
    cols text[];
    img jsonb;
    guards text;
BEGIN
    SELECT * INTO l FROM @extschema@.merge_log AS m WHERE m.merge_id = unmerge.merge_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'merge % does not exist', merge_id USING ERRCODE = 'no_data_found';
    END IF;
    IF l.unmerged_at IS NOT NULL THEN
        RAISE EXCEPTION 'merge % was already undone', merge_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('%s undid it at %s.', l.unmerged_by, l.unmerged_at);
    END IF;
    tbl := l.tbl;
    keycol := l.key_column;
    SELECT format_type(a.atttypid, NULL) INTO keytype
      FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = keycol AND a.attnum > 0 AND NOT a.attisdropped;
    IF keytype IS NULL THEN
        RAISE EXCEPTION 'cannot undo merge %: key column "%" of % no longer exists', merge_id, keycol, tbl
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    markcol := CASE WHEN l.mode = 'mark' THEN l.rules->>'mark' END;
    SELECT max(m.merge_id) INTO later
      FROM @extschema@.merge_log AS m
     WHERE m.tbl = l.tbl AND m.merge_id > l.merge_id AND m.unmerged_at IS NULL
       AND (m.survivor = ANY (l.survivor || l.losers) OR m.losers && (l.survivor || l.losers));
    guards := @extschema@.merge_guards_to_pause(
        tbl || ARRAY(SELECT DISTINCT (x->>'table')::regclass FROM jsonb_array_elements(l.moved || l.removed) AS x));
    IF guards IS NOT NULL THEN
        PERFORM set_config('crmdedup.guards', 'off', true);
    END IF;

    -- lock as merge does, then check that the survivor (and marked losers) are as merge left them
    FOR k IN EXECUTE format('SELECT u.x::text FROM unnest($1::%s[]) AS u(x) ORDER BY u.x', keytype)
               USING l.survivor || l.losers LOOP
        EXECUTE format('SELECT to_jsonb(t) FROM %s AS t WHERE t.%I = $1::%s FOR %s', tbl, keycol, keytype,
                       CASE WHEN k = l.survivor THEN 'NO KEY UPDATE' ELSE 'UPDATE' END)
           INTO cur USING k;
        IF k = l.survivor THEN
            img := l.survivor_after;
        ELSIF markcol IS NOT NULL THEN
            img := (SELECT x->'after' FROM jsonb_array_elements(l.loser_rows) AS x WHERE x->>'key' = k);
        ELSE
            img := NULL;
        END IF;
        IF img IS NULL AND cur IS NOT NULL THEN
            RAISE EXCEPTION 'cannot undo merge %: a row with key % is in % again', merge_id, k, tbl
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Delete or merge that row first.';
        ELSIF img IS NOT NULL AND cur IS NULL THEN
            PERFORM @extschema@.merge_fail('55000', format('cannot undo merge %s: row %s of %s no longer exists', merge_id, k, tbl),
                                           NULL, CASE WHEN later IS NOT NULL THEN format('Undo merge %s first.', later) END);
        ELSIF img IS NOT NULL AND cur <> img THEN
            SELECT string_agg(format('%I', coalesce(a.key, b.key)), ', ' ORDER BY coalesce(a.key, b.key)) INTO diff
              FROM jsonb_each(cur) AS a FULL JOIN jsonb_each(img) AS b ON a.key = b.key
             WHERE a.value IS DISTINCT FROM b.value;
            PERFORM @extschema@.merge_fail('55000', format('cannot undo merge %s: row %s of %s has changed since the merge', merge_id, k, tbl),
                                           format('Changed: %s.', diff),
                                           CASE WHEN later IS NOT NULL THEN format('Undo merge %s first.', later) END);
        END IF;
    END LOOP;

    -- the survivor's own columns; self-references to losers wait until the losers are back
    selfcols := ARRAY(SELECT DISTINCT a.attname::text
                        FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) AS u(attnum)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = u.attnum
                       WHERE c.contype = 'f' AND c.conparentid = 0
                         AND (c.conrelid = tbl OR c.conrelid IN (SELECT p.relid FROM pg_partition_ancestors(tbl) AS p))
                         AND (c.confrelid = tbl OR c.confrelid IN (SELECT p.relid FROM pg_partition_ancestors(tbl) AS p)));
    SELECT array_agg(a.attname::text) INTO cols
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND a.attname <> keycol
       AND NOT a.attname = ANY (selfcols)
       AND (l.survivor_before_text IS NOT NULL
            OR (l.survivor_before ? a.attname AND l.survivor_before->a.attname IS DISTINCT FROM l.survivor_after->a.attname));
    IF cardinality(cols) > 0 THEN
        PERFORM @extschema@.merge_set_columns(tbl, keycol, keytype, l.survivor, cols, l.survivor_before, l.survivor_before_text);
    END IF;

    -- the losers, with their own ids
    FOR e IN SELECT x FROM jsonb_array_elements(l.loser_rows) AS x LOOP
        IF markcol IS NULL THEN
            PERFORM @extschema@.merge_insert_image(tbl, e->'row', e->>'text');
        ELSE
            SELECT array_agg(a.attname::text) INTO cols
              FROM pg_attribute a
             WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND a.attname <> keycol
               AND (e ? 'text' OR ((e->'row') ? a.attname AND e->'row'->a.attname IS DISTINCT FROM e->'after'->a.attname));
            IF cardinality(cols) > 0 THEN
                PERFORM @extschema@.merge_set_columns(tbl, keycol, keytype, e->>'key', cols, e->'row', e->>'text');
            END IF;
        END IF;
    END LOOP;

    -- moved rows back, last moved first; each must still be as the merge left it
    FOR e IN SELECT x FROM jsonb_array_elements(l.moved) WITH ORDINALITY AS a(x, o) ORDER BY a.o DESC LOOP
        child := (e->>'table')::regclass;
        fcols := ARRAY(SELECT jsonb_object_keys(e->'old'));
        IF jsonb_typeof(e->'key') = 'object' THEN
            idcols := ARRAY(SELECT jsonb_object_keys(e->'key'));
            idcond := format(' AND (%s) = (%s)',
                             (SELECT string_agg(format('c.%I', x), ', ' ORDER BY u.o) FROM unnest(idcols) WITH ORDINALITY AS u(x, o)),
                             @extschema@.merge_cast_list(child, idcols, '$4'));
        ELSE
            idcols := NULL;
            idcond := format(' AND (c.tableoid, c.ctid) = (SELECT c2.tableoid, c2.ctid FROM %s AS c2 WHERE (%s) = (%s) '
                             'AND to_jsonb(c2) = $3 LIMIT 1 FOR UPDATE)',
                             child,
                             (SELECT string_agg(format('c2.%I', x), ', ' ORDER BY u.o) FROM unnest(fcols) WITH ORDINALITY AS u(x, o)),
                             @extschema@.merge_cast_list(child, fcols, '$2'));
        END IF;
        EXECUTE format('UPDATE %s AS c SET (%s) = ROW(%s) WHERE (%s) = (%s) AND to_jsonb(c) = $3%s',
                       child,
                       (SELECT string_agg(format('%I', x), ', ' ORDER BY u.o) FROM unnest(fcols) WITH ORDINALITY AS u(x, o)),
                       @extschema@.merge_cast_list(child, fcols, '$1'),
                       (SELECT string_agg(format('c.%I', x), ', ' ORDER BY u.o) FROM unnest(fcols) WITH ORDINALITY AS u(x, o)),
                       @extschema@.merge_cast_list(child, fcols, '$2'),
                       idcond)
           USING e->'old', e->'new', e->'row', e->'key';
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n = 0 THEN
            diff := NULL;
            IF idcols IS NOT NULL THEN
                EXECUTE format('SELECT to_jsonb(c) FROM %s AS c WHERE (%s) = (%s)', child,
                               (SELECT string_agg(format('c.%I', x), ', ' ORDER BY u.o) FROM unnest(idcols) WITH ORDINALITY AS u(x, o)),
                               @extschema@.merge_cast_list(child, idcols, '$1'))
                   INTO cur USING e->'key';
                IF cur IS NULL THEN
                    diff := 'It no longer exists.';
                ELSIF EXISTS (SELECT 1 FROM unnest(fcols) AS f WHERE cur->f IS DISTINCT FROM e->'new'->f) THEN
                    diff := 'It no longer references the survivor.';
                ELSE
                    SELECT 'Changed: ' || string_agg(format('%I', coalesce(a.key, b.key)), ', ' ORDER BY coalesce(a.key, b.key)) || '.'
                      INTO diff
                      FROM jsonb_each(cur) AS a FULL JOIN jsonb_each(e->'row') AS b ON a.key = b.key
                     WHERE a.value IS DISTINCT FROM b.value;
                END IF;
            END IF;
            PERFORM @extschema@.merge_fail('55000',
                format('cannot undo merge %s: row %s of %s has changed since the merge', merge_id,
                       CASE WHEN jsonb_typeof(e->'key') = 'object' THEN e->'key' ELSE e->'row' END, child),
                coalesce(diff, 'No row equal to it references the survivor any more.'),
                CASE WHEN later IS NOT NULL THEN format('Undo merge %s first.', later) END);
        END IF;
    END LOOP;

    -- child rows the merge removed as redundant
    FOR e IN SELECT x FROM jsonb_array_elements(l.removed) AS x LOOP
        PERFORM @extschema@.merge_insert_image((e->>'table')::regclass, e->'row', e->>'text');
    END LOOP;

    cols := ARRAY(SELECT x FROM unnest(selfcols) AS x
                   WHERE l.survivor_before_text IS NOT NULL
                      OR l.survivor_before->x IS DISTINCT FROM l.survivor_after->x);
    IF cardinality(cols) > 0 THEN
        PERFORM @extschema@.merge_set_columns(tbl, keycol, keytype, l.survivor, cols, l.survivor_before, l.survivor_before_text);
    END IF;

    UPDATE @extschema@.merge_log AS m
       SET unmerged_at = now(), unmerged_by = CURRENT_USER, unmerged_by_session = SESSION_USER
     WHERE m.merge_id = unmerge.merge_id;
    IF guards IS NOT NULL THEN
        PERFORM set_config('crmdedup.guards', guards, true);
    END IF;
END;
$$;

COMMENT ON PROCEDURE @extschema@.unmerge(bigint) IS
'undo a merge: restore the survivor, re-insert the losers with their ids, move child rows back; refuses (55000) when anything it touched has changed since';
-- Clustering of duplicate candidates that does not chain: average linkage over one connected
-- component of scored pairs, where a pair scored below the floor never ends in one cluster.

CREATE FUNCTION @extschema@.cluster_pairs(
    ids text[], a integer[], b integer[], scores float8[],
    threshold float8, floor float8 DEFAULT 0.2,
    OUT id text, OUT cluster_id text, OUT center text, OUT score_to_center float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cluster_pairs'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION @extschema@.cluster_pairs(text[], integer[], integer[], float8[], float8, float8) IS
'clusters one component: ids are its members, pair k joins ids[a[k]] and ids[b[k]] with scores[k] in [0,1] (missing pairs: never compared, 0 in averages; repeats keep the highest; NaN: never compared). Average-linkage merges while the average cross score >= threshold and no cross pair is below floor. One row per member: its cluster (named by the center id), the center (member with the highest average score to the others) and its score to the center (1 for the center)';
-- Reports: candidate pairs through blocking keys, clusters that do not chain, a summary,
-- and auto_merge of the clusters above a high score.

-- The rows of a profile's table as (id text, r jsonb), child-table fields filled in.
CREATE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') WHERE value ? 'from' LOOP
        extra := extra || format(' || jsonb_build_object(%L, (SELECT jsonb_agg(c.%I) FROM %s c WHERE c.%I = t.%I))',
                                 f->>'field', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                                 p.compiled->>'id');
    END LOOP;
    RETURN format('SELECT t.%I::text AS id, to_jsonb(t)%s AS r FROM %s t', p.compiled->>'id', extra, p.table_oid);
END;
$$;

-- Blocking keys of one row (as jsonb) under a profile: exact normalized values and sound keys.
-- Frequent keys are dropped by the caller (block_cap), which is how common names stop
-- producing huge blocks while rare ones still meet.
CREATE FUNCTION @extschema@.blocking_keys(compiled jsonb, r jsonb)
RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT DISTINCT k FROM (
        SELECT CASE f->>'role'
                   WHEN 'phone' THEN 'p:' || @extschema@.phone_e164(v, f->>'region')
                   WHEN 'email' THEN 'e:' || @extschema@.email_key(v)
                   WHEN 'company' THEN 'c:' || @extschema@.company_key(v)
                   WHEN 'external_id' THEN 'x:' || (f->>'field') || ':' || @extschema@.name_key(v)
                   WHEN 'postcode' THEN 'z:' || (f->>'field') || ':' || @extschema@.name_key(v)
                   WHEN 'birth_date' THEN 'd:' || (f->>'field') || ':' || @extschema@.date_digits(v)
                   WHEN 'address' THEN 'a:' || @extschema@.name_key(@extschema@.translit(v))
               END AS k
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v
        UNION ALL
        -- names: the whole name in any word order, its sound, and the sound of each longer word
        SELECT unnest(ARRAY['n:' || @extschema@.person_key(v),
                            'h:' || @extschema@.phonetic(@extschema@.person_key(v))])
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v
         WHERE f->>'role' = 'person_name'
        UNION ALL
        SELECT 'w:' || (f->>'role') || ':' || @extschema@.phonetic(w)
          FROM jsonb_array_elements(compiled->'fields') f,
               unnest(@extschema@.field_values(r->(f->>'field'))) v,
               unnest(string_to_array(@extschema@.translit(v), ' ')) w
         WHERE f->>'role' IN ('person_name', 'last_name', 'first_name', 'company') AND length(w) >= 4
    ) keys
    WHERE k IS NOT NULL;
END;

COMMENT ON FUNCTION @extschema@.blocking_keys(jsonb, jsonb) IS
'blocking keys of a row under a compiled profile: normalized phones, emails, company, ids, postcodes, name keys and sound keys';

-- Fill pg_temp.cd_report_rows / cd_report_pairs with every candidate pair and its score.
-- Progress goes to NOTICEs and to this backend's application_name, which another session
-- can read in pg_stat_activity while the report runs.
CREATE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 100, batch integer DEFAULT 20000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
DECLARE
    p record;
    npairs bigint;
    done bigint := 0;
    lo bigint := 0;
    t0 timestamptz := clock_timestamp();
    app text := current_setting('application_name');
    eta numeric;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs;
    EXECUTE 'CREATE TEMP TABLE cd_report_rows AS ' || @extschema@.report_rows_sql(profile);
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    CREATE TEMP TABLE cd_report_keys AS
        SELECT r.id, k.k AS key FROM pg_temp.cd_report_rows r, @extschema@.blocking_keys(p.compiled, r.r) AS k(k);
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        (SELECT count(*) FROM pg_temp.cd_report_rows), (SELECT count(*) FROM pg_temp.cd_report_keys),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- a pair appears once, however many keys it shares
    CREATE TEMP TABLE cd_report_pairs AS
        SELECT row_number() OVER () AS n, a, b, NULL::float8 AS score
          FROM (SELECT DISTINCT x AS a, y AS b
                  FROM (SELECT array_agg(id) AS ids FROM pg_temp.cd_report_keys GROUP BY key
                         HAVING count(*) BETWEEN 2 AND block_cap) g,
                       unnest(g.ids) x, unnest(g.ids) y
                 WHERE x < y) s;
    CREATE INDEX ON pg_temp.cd_report_pairs (n);
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    npairs := (SELECT count(*) FROM pg_temp.cd_report_pairs);
    WHILE lo < npairs LOOP
        UPDATE pg_temp.cd_report_pairs c
           SET score = (@extschema@.score_rows(profile, ra.r, rb.r, false)).score
          FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb
         WHERE c.n > lo AND c.n <= lo + batch AND ra.id = c.a AND rb.id = c.b;
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t0) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % candidate pairs (% %%), about % s left',
            done, npairs, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s pairs, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, eta), 63), true);
    END LOOP;
    PERFORM set_config('application_name', app, true);
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through blocking keys, scored, in session temp tables';

CREATE FUNCTION @extschema@.find_duplicates(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 100,
                                            explain boolean DEFAULT true)
RETURNS TABLE (a text, b text, score float8, decision text, explanation jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    threshold float8;
BEGIN
    PERFORM @extschema@.report_candidates(profile, block_cap);
    threshold := coalesce(min_score, (SELECT (compiled->>'maybe')::float8 FROM @extschema@.profiles pr WHERE pr.name = profile));
    RETURN QUERY
        SELECT c.a, c.b, c.score,
               CASE WHEN explain THEN s.decision ELSE NULL END,
               CASE WHEN explain THEN s.explanation ELSE NULL END
          FROM pg_temp.cd_report_pairs c
          LEFT JOIN LATERAL (SELECT m.decision, m.explanation
                               FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb,
                                    @extschema@.score_rows(profile, ra.r, rb.r, true) m
                              WHERE explain AND ra.id = c.a AND rb.id = c.b) s ON true
         WHERE c.score >= threshold
         ORDER BY c.score DESC, c.a, c.b;
END;
$$;

COMMENT ON FUNCTION @extschema@.find_duplicates(text, float8, integer, boolean) IS
'every candidate pair of the profile''s table with score >= min_score (default: the profile''s maybe threshold), found through blocking keys, with reasons';

-- Clusters: components of the pairs above min_score, split by average linkage so that a chain
-- A~B~C of two different people never becomes one cluster.
CREATE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 100, survivor_column text DEFAULT NULL)
RETURNS TABLE (cluster_id text, id text, score float8, is_survivor boolean, suggested_survivor text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    p record;
    threshold float8;
    changed bigint;
    comp record;
    refs text := '';
    fk record;
    t0 timestamptz := clock_timestamp();
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF survivor IS NULL OR survivor NOT IN ('most_complete', 'oldest', 'newest', 'most_referenced') THEN
        RAISE EXCEPTION 'invalid survivor rule "%"', coalesce(survivor, '')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use most_complete, oldest, newest or most_referenced.';
    END IF;
    IF survivor IN ('oldest', 'newest') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute WHERE attrelid = p.table_oid AND attname = coalesce(survivor_column, 'created_at')
               AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'survivor rule % needs a timestamp column', survivor
            USING ERRCODE = 'undefined_column', HINT = 'Name it with survivor_column (default created_at).';
    END IF;
    threshold := coalesce(min_score, (p.compiled->>'same')::float8);
    PERFORM @extschema@.report_candidates(profile, block_cap);

    -- connected components over the strong pairs, by label propagation
    DROP TABLE IF EXISTS pg_temp.cd_report_comp, pg_temp.cd_report_clusters;
    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    CREATE TEMP TABLE cd_report_comp AS
        SELECT DISTINCT x AS id, x AS label
          FROM pg_temp.cd_report_pairs, unnest(ARRAY[a, b]) x WHERE score >= threshold;
    ALTER TABLE pg_temp.cd_report_comp ADD PRIMARY KEY (id);
    CREATE INDEX ON pg_temp.cd_report_pairs (a, b);
    ANALYZE pg_temp.cd_report_comp;
    ANALYZE pg_temp.cd_report_pairs;
    LOOP
        UPDATE pg_temp.cd_report_comp c SET label = m.label
          FROM (SELECT e.x AS id, min(n.label) AS label
                  FROM (SELECT a AS x, b AS y FROM pg_temp.cd_report_pairs WHERE score >= threshold
                        UNION ALL SELECT b, a FROM pg_temp.cd_report_pairs WHERE score >= threshold) e
                  JOIN pg_temp.cd_report_comp n ON n.id = e.y
                 GROUP BY e.x) m
         WHERE c.id = m.id AND m.label < c.label;
        GET DIAGNOSTICS changed = ROW_COUNT;
        EXIT WHEN changed = 0;
    END LOOP;

    RAISE NOTICE 'crmdedup: % records in % components above %',
        (SELECT count(*) FROM pg_temp.cd_report_comp), (SELECT count(DISTINCT label) FROM pg_temp.cd_report_comp), threshold;
    -- a component of two is a cluster of two: set-based, no loop
    CREATE TEMP TABLE cd_report_clusters AS
        SELECT x AS id, g.ids[1] AS cluster_id, g.ids[1] AS center,
               CASE WHEN x = g.ids[1] THEN 1 ELSE
                   (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr WHERE pr.a = g.ids[1] AND pr.b = g.ids[2]) END AS score
          FROM (SELECT array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
                HAVING count(*) = 2) g, unnest(g.ids) x;
    FOR comp IN SELECT label, array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
                HAVING count(*) > 2 LOOP
        BEGIN
            -- every pair of the component is scored (pairs no key found are scored now), then clustered
            INSERT INTO pg_temp.cd_report_clusters
            SELECT k.id, k.cluster_id, k.center, k.score_to_center
              FROM (SELECT array_agg(ia ORDER BY ia, ib) AS a, array_agg(ib ORDER BY ia, ib) AS b,
                           array_agg(sc ORDER BY ia, ib) AS s
                      FROM (SELECT ia, ib, coalesce(
                                (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr
                                  WHERE pr.a = comp.ids[ia] AND pr.b = comp.ids[ib]),
                                (SELECT (@extschema@.score_rows(profile, ra.r, rb.r, false)).score
                                   FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb
                                  WHERE ra.id = comp.ids[ia] AND rb.id = comp.ids[ib])) AS sc
                              FROM generate_subscripts(comp.ids, 1) ia, generate_subscripts(comp.ids, 1) ib
                             WHERE ia < ib) q) m,
                   @extschema@.cluster_pairs(comp.ids, m.a, m.b, m.s, threshold) k;
        END;
    END LOOP;

    RAISE NOTICE 'crmdedup: % clusters (% s)', (SELECT count(DISTINCT cluster_id) FROM pg_temp.cd_report_clusters),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = c.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    RETURN QUERY EXECUTE format(
        'WITH m AS (SELECT c.*, r.r, %s AS rank_value
                      FROM pg_temp.cd_report_clusters c JOIN pg_temp.cd_report_rows r ON r.id = c.id),
              s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM m WHERE cluster_id IN (SELECT cluster_id FROM m GROUP BY cluster_id HAVING count(*) > 1)
                     ORDER BY cluster_id, rank_value %s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        CASE survivor
            WHEN 'most_complete' THEN '(SELECT count(*) FROM jsonb_each(r.r) e WHERE e.value NOT IN (''null''::jsonb, ''""''::jsonb, ''[]''::jsonb))'
            WHEN 'most_referenced' THEN '0' || refs
            ELSE format('(r.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

-- The numbers a manager asks for first.
CREATE FUNCTION @extschema@.summary(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 100)
RETURNS TABLE (section text, item text, value numeric)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- many small queries whose row estimates are poor: JIT compiling each costs more than running it
SET jit = off
AS $$
#variable_conflict use_column
DECLARE
    nrows bigint;
BEGIN
    DROP TABLE IF EXISTS pg_temp.cd_summary_clusters;
    CREATE TEMP TABLE cd_summary_clusters AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
    nrows := (SELECT count(*) FROM pg_temp.cd_report_rows);
    RETURN QUERY
        SELECT 'totals', 'rows', nrows::numeric
        UNION ALL SELECT 'totals', 'rows in clusters', count(*)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'clusters', count(DISTINCT cluster_id)::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate rows (would be merged away)',
                         (count(*) - count(DISTINCT cluster_id))::numeric FROM pg_temp.cd_summary_clusters
        UNION ALL SELECT 'totals', 'duplicate share %',
                         round(100.0 * (count(*) - count(DISTINCT cluster_id)) / greatest(nrows, 1), 2)
                    FROM pg_temp.cd_summary_clusters
        UNION ALL
        SELECT 'clusters by size', size || ' records', count(*)::numeric
          FROM (SELECT cluster_id, count(*) AS size FROM pg_temp.cd_summary_clusters GROUP BY cluster_id) s
         GROUP BY size
        UNION ALL
        -- why members match their cluster's best record: the fields that gave positive evidence
        SELECT 'pairs by reason', reason, count(*)::numeric
          FROM (SELECT (SELECT string_agg(f->>'level' || ' (' || (f->>'field') || ')', ' + '
                                          ORDER BY (f->>'weight')::float8 DESC)
                          FROM jsonb_array_elements(m.explanation->'fields') f
                         WHERE (f->>'weight')::float8 > 0) AS reason
                  FROM pg_temp.cd_summary_clusters c
                  JOIN pg_temp.cd_report_rows ra ON ra.id = c.id
                  JOIN pg_temp.cd_report_rows rb ON rb.id = c.suggested_survivor,
                       @extschema@.score_rows(profile, ra.r, rb.r, true) m
                 WHERE NOT c.is_survivor) x
         GROUP BY reason;
END;
$$;

COMMENT ON FUNCTION @extschema@.summary(text, float8, integer) IS
'rows, rows in clusters, clusters by size, duplicate share and counts by reason of a profile''s table';

-- auto_merge: merge every cluster at or above min_score into its suggested survivor, in
-- batches that commit as they go.  No SET search_path: a procedure that commits cannot
-- have one; every name below is schema-qualified instead.
CREATE PROCEDURE @extschema@.auto_merge(profile text, min_score float8 DEFAULT 0.97, dry_run boolean DEFAULT true,
                                       survivor text DEFAULT NULL, batch_size integer DEFAULT 100,
                                       rules jsonb DEFAULT '{}', INOUT merged integer DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
    tbl regclass;
    c record;
    n integer := 0;
    total integer;
    mid bigint;
BEGIN
    SELECT pr.table_oid INTO tbl FROM @extschema@.profiles pr WHERE pr.name OPERATOR(pg_catalog.=) profile;
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF min_score IS NULL OR min_score OPERATOR(pg_catalog.<) 0.5 OR min_score OPERATOR(pg_catalog.>) 1 THEN
        RAISE EXCEPTION 'min_score for auto_merge must be between 0.5 and 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DROP TABLE IF EXISTS pg_temp.cd_auto_merge_plan;
    CREATE TEMP TABLE cd_auto_merge_plan AS
        SELECT k.cluster_id, k.suggested_survivor AS keep,
               pg_catalog.array_agg(k.id ORDER BY k.score DESC, k.id) FILTER (WHERE NOT k.is_survivor) AS losers,
               pg_catalog.min(k.score) AS weakest
          FROM @extschema@.clusters(profile, min_score,
                   coalesce(survivor, (SELECT pr.compiled->>'survivor' FROM @extschema@.profiles pr
                                        WHERE pr.name OPERATOR(pg_catalog.=) profile), 'most_complete')) k
         GROUP BY k.cluster_id, k.suggested_survivor;
    total := (SELECT pg_catalog.count(*) FROM pg_temp.cd_auto_merge_plan);
    IF dry_run THEN
        FOR c IN SELECT * FROM pg_temp.cd_auto_merge_plan ORDER BY cluster_id LOOP
            RAISE NOTICE 'would merge % into % (weakest member score %)',
                c.losers, c.keep, pg_catalog.round(c.weakest::numeric, 3);
        END LOOP;
        RAISE NOTICE 'dry run: % clusters would be merged; nothing was changed (plan in pg_temp.cd_auto_merge_plan)', total;
        merged := 0;
        RETURN;
    END IF;
    FOR c IN SELECT * FROM pg_temp.cd_auto_merge_plan ORDER BY cluster_id LOOP
        CALL @extschema@.merge_text_keys(tbl, c.keep, c.losers, rules, mid);
        n := n OPERATOR(pg_catalog.+) 1;
        IF n OPERATOR(pg_catalog.%) batch_size OPERATOR(pg_catalog.=) 0 THEN
            COMMIT;
            RAISE NOTICE 'crmdedup auto_merge: % of % clusters merged', n, total;
        END IF;
    END LOOP;
    RAISE NOTICE 'crmdedup auto_merge: % of % clusters merged', n, total;
    merged := n;
END;
$$;

COMMENT ON PROCEDURE @extschema@.auto_merge(text, float8, boolean, text, integer, jsonb, integer) IS
'merge every cluster at or above min_score into its suggested survivor, committing every batch_size merges; dry_run shows the plan';
