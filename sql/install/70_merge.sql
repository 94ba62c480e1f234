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
