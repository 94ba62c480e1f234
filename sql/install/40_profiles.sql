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
    PRIMARY KEY (profile, field, term),
    -- a share of rows: the scorer takes its logarithm, so 0, negative values, NaN and
    -- infinity would fail or mislead every score of the field (0.2.0)
    CONSTRAINT term_stats_freq_check CHECK (freq OPERATOR(pg_catalog.>) 0 AND freq OPERATOR(pg_catalog.<=) 1)
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
-- top levels use term frequencies gathered by analyze() as u when known (0.2.0: also "same
-- number" of phones, so that a switchboard number many records share weighs little).  0.2.0:
-- company names below "somewhat similar" are "little in common" (a word or a few letters shared)
-- or "different" (below 0.35: nothing to speak of), so that estimate() can tell the
-- restaurants of one hotel, the firms of one building, from one firm under two names.
CREATE FUNCTION @extschema@.default_levels(role text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'phone' THEN '[{"level":"same number","min":0.999,"m":0.80,"u":0.0005,"tf":true},
                        {"level":"one digit off","min":0.8,"m":0.05,"u":0.0002}]'
    WHEN 'email' THEN '[{"level":"same mailbox","min":0.999,"m":0.75,"u":0.0002},
                        {"level":"typo or other domain","min":0.7,"m":0.05,"u":0.0005,"tf":true}]'
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
                          {"level":"similar company","min":0.85,"m":0.15,"u":0.01,"tf":true},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.03},
                          {"level":"little in common","min":0.35,"m":0.05,"u":0.15}]'
    WHEN 'address' THEN '[{"level":"same address","min":0.95,"m":0.70,"u":0.001},
                          {"level":"similar address","min":0.8,"m":0.15,"u":0.005},
                          {"level":"somewhat similar","min":0.6,"m":0.07,"u":0.02}]'
    WHEN 'city' THEN '[{"level":"same","min":0.95,"m":0.85,"u":0.05,"tf":true},
                       {"level":"similar","min":0.85,"m":0.05,"u":0.02}]'
    WHEN 'postcode' THEN '[{"level":"same","min":0.999,"m":0.85,"u":0.01,"tf":true},
                           {"level":"one character off","min":0.75,"m":0.08,"u":0.02}]'
    WHEN 'birth_date' THEN '[{"level":"same date","min":0.999,"m":0.85,"u":0.003},
                             {"level":"one typo","min":0.8,"m":0.08,"u":0.01},
                             {"level":"within a month","min":0.77,"m":0.03,"u":0.003}]'
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

        -- a JSON number: a string would let "NaN" and "Infinity" through to the scorer
        IF v ? 'weight' AND jsonb_typeof(v->'weight') <> 'number' THEN
            RAISE EXCEPTION 'invalid profile spec: "weight" of field "%" must be a positive number', k
                USING ERRCODE = 'invalid_parameter_value';
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
            -- the child rows are found by casting the record's id to the key's type: a key of
            -- another kind (bigint for a text id) would fail on every record at scoring time
            IF (SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = (v->'from'->>'table')::regclass AND a.attname = v->'from'->>'key')
               IS DISTINCT FROM
               (SELECT t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                 WHERE a.attrelid = tbl AND a.attname = idcol) THEN
                RAISE EXCEPTION 'invalid profile spec: "from" of field "%": key column "%" is not of the kind of the id column "%"',
                    k, v->'from'->>'key', idcol
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = format('%s is %s, %s is %s.', v->'from'->>'key', f->'from'->>'key_type', idcol,
                                          (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                                            WHERE attrelid = tbl AND attname = idcol));
            END IF;
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
            -- IS DISTINCT FROM: a missing key gives NULL, which "<>" would let pass
            IF jsonb_typeof(v) <> 'object' OR jsonb_typeof(v->'min') IS DISTINCT FROM 'number'
               OR jsonb_typeof(v->'m') IS DISTINCT FROM 'number' OR jsonb_typeof(v->'u') IS DISTINCT FROM 'number' THEN
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
            SELECT 1 FROM jsonb_each(spec->'thresholds') t
             WHERE t.key NOT IN ('same', 'maybe') OR jsonb_typeof(t.value) <> 'number')) THEN
        RAISE EXCEPTION 'invalid profile spec: "thresholds" takes only "same" and "maybe", as numbers'
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
    IF spec ? 'prior' AND jsonb_typeof(spec->'prior') <> 'number' THEN
        RAISE EXCEPTION 'invalid profile spec: "prior" must be a number in (0,1)'
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
