-- Reports: candidate pairs through blocking keys, clusters that do not chain, a summary,
-- and auto_merge of the clusters above a high score.

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

-- The blocking keys of every row of a profile's table as one query giving (id, key): a UNION
-- ALL branch per profile field that reads the table (or the field's child table) directly,
-- with the same keys as blocking_keys().  Measured on 50,000 demo contacts: calling the SQL
-- function blocking_keys() once per row cost about 1.1 ms a row (55 s), almost all of it
-- per-call planning; reading the fields out of the row's jsonb with field_values() still cost
-- about 30 µs per field and row (that function is not inlined: it uses its argument more than
-- once).  Plain column reads leave the key functions in C as the main cost, and every branch
-- is a scan PostgreSQL can split among parallel workers.
CREATE FUNCTION @extschema@.report_keys_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    branches text[] := '{}';
    expr text;
    rel regclass;
    col text;
    idcol text;
    typ oid;
    cat "char";
    src text;
    jsonvals constant text :=
        'jsonb_array_elements(CASE WHEN jsonb_typeof(%1$s) = ''array'' THEN %1$s ELSE jsonb_build_array(%1$s) END) e, '
        'LATERAL (SELECT CASE jsonb_typeof(e) WHEN ''string'' THEN e #>> ''{}'' '
        'WHEN ''object'' THEN coalesce(e->>''value'', e->>''phone'', e->>''email'', e->>''number'', e->>''address'') '
        'WHEN ''null'' THEN NULL ELSE e #>> ''{}'' END AS v) x';
    present constant text := 'x.v IS NOT NULL AND btrim(x.v) <> ''''';
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            rel := (f->'from'->>'table')::regclass;
            col := f->'from'->>'column';
            idcol := f->'from'->>'key';
        ELSE
            rel := p.table_oid;
            col := f->>'field';
            idcol := p.compiled->>'id';
        END IF;
        typ := NULL;
        SELECT a.atttypid, t.typcategory INTO typ, cat
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        -- the values x.v of the field, as field_values() reads them from the row's jsonb
        src := CASE
            WHEN typ IS NULL THEN   -- not a column of its own: read it from the row as jsonb
                format('%s c, ', rel) || format(jsonvals, format('(to_jsonb(c)->%L)', col))
            WHEN typ IN ('json'::regtype, 'jsonb'::regtype) THEN
                format('%s c, ', rel) || format(jsonvals, format('c.%I::jsonb', col))
            WHEN cat = 'A' THEN
                format('%s c, LATERAL (SELECT to_jsonb(u) #>> ''{}'' AS v FROM unnest(c.%I) u) x', rel, col)
            WHEN cat = 'S' THEN
                format('%s c, LATERAL (SELECT c.%I::text AS v) x', rel, col)
            ELSE   -- dates, numbers: written as to_jsonb() writes them (ISO dates, whatever DateStyle)
                format('%s c, LATERAL (SELECT to_jsonb(c.%I) #>> ''{}'' AS v) x', rel, col)
            END;
        expr := CASE f->>'role'
                    WHEN 'phone' THEN format('''p:'' || @extschema@.phone_e164(x.v, %L)', f->>'region')
                    WHEN 'email' THEN '''e:'' || @extschema@.email_key(x.v)'
                    WHEN 'company' THEN '''c:'' || @extschema@.company_key(x.v)'
                    WHEN 'external_id' THEN format('%L || @extschema@.name_key(x.v)', 'x:' || (f->>'field') || ':')
                    WHEN 'postcode' THEN format('%L || @extschema@.name_key(x.v)', 'z:' || (f->>'field') || ':')
                    WHEN 'birth_date' THEN format('%L || @extschema@.date_digits(x.v)', 'd:' || (f->>'field') || ':')
                    WHEN 'address' THEN '''a:'' || @extschema@.name_key(@extschema@.translit(x.v))'
                END;
        -- a date column needs no parsing: date_digits() of its ISO text is its YYYYMMDD, and
        -- date_digits() (regular expressions in SQL) cost about 250 µs a call
        IF f->>'role' = 'birth_date' AND typ = 'date'::regtype THEN
            src := format('%s c, LATERAL (SELECT to_char(c.%I, ''YYYYMMDD'') AS v) x', rel, col);
            expr := format('%L || x.v', 'd:' || (f->>'field') || ':');
        END IF;
        IF expr IS NOT NULL THEN
            branches := branches || format('SELECT c.%I::text AS id, %s AS key FROM %s WHERE %s', idcol, expr, src, present);
        END IF;
        -- names: the whole name in any word order and its sound
        IF f->>'role' = 'person_name' THEN
            branches := branches || format(
                'SELECT c.%I::text, k.key FROM %s, @extschema@.person_key(x.v) pk, '
                'unnest(ARRAY[''n:'' || pk, ''h:'' || @extschema@.phonetic(pk)]) k(key) WHERE %s', idcol, src, present);
        END IF;
        -- the sound of each longer word
        IF f->>'role' IN ('person_name', 'last_name', 'first_name', 'company') THEN
            branches := branches || format(
                'SELECT c.%I::text, %L || @extschema@.phonetic(w) FROM %s, '
                'unnest(string_to_array(@extschema@.translit(x.v), '' '')) w WHERE %s AND length(w) >= 4',
                idcol, 'w:' || (f->>'role') || ':', src, present);
        END IF;
    END LOOP;
    IF cardinality(branches) = 0 THEN
        RETURN 'SELECT NULL::text AS id, NULL::text AS key WHERE false';
    END IF;
    -- no DISTINCT and no key IS NOT NULL here: a filter on the union would be pushed into every
    -- branch and compute each key twice, and a repeated (id, key) (the same phone twice) costs
    -- the pair step nothing, while removing repeats here cost a sort or hash of every key
    RETURN array_to_string(branches, ' UNION ALL ');
END;
$$;

COMMENT ON FUNCTION @extschema@.report_keys_sql(text) IS
'internal: a query giving (id, key) for every blocking key of every row of a profile''s table (the keys of blocking_keys(); NULL keys and repeats not removed)';

-- The expression giving a row's sort key for sorted-neighbourhood blocking: its first name
-- key (word order ignored), else its company key, else nothing (then id order).
CREATE FUNCTION @extschema@.report_sort_sql(profile text, rel text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT format('@extschema@.person_key(coalesce(%1$s.r->%2$L->>0, %1$s.r->>%2$L))', rel, f->>'field')
           FROM @extschema@.profiles pr, jsonb_array_elements(pr.compiled->'fields') f
          WHERE pr.name = profile AND f->>'role' = 'person_name' LIMIT 1),
        (SELECT format('@extschema@.company_key(coalesce(%1$s.r->%2$L->>0, %1$s.r->>%2$L))', rel, f->>'field')
           FROM @extschema@.profiles pr, jsonb_array_elements(pr.compiled->'fields') f
          WHERE pr.name = profile AND f->>'role' = 'company' LIMIT 1),
        'NULL::text');
END;

-- The rows of a profile's table as a query.  With ids (a table (rn int4, id of the table's
-- key type)): (rn, id text, r jsonb) for the rows of ids, numbered as there; without:
-- (id text, r jsonb) for every row.  Each child table is aggregated once and joined (a hash
-- join) rather than looked up per row by a correlated subquery: PostgreSQL 15 does not run
-- correlated subqueries in parallel workers, and a million index lookups per child table
-- cost more than one pass over it.  whole: r is the whole row (to_jsonb(), child-table
-- fields added), what the survivor rules read; else r holds the profile's fields only, the
-- values that score_rows() and report_row_keys() read: one jsonb_build_object() per row
-- (on 1,000,000 contacts to_jsonb() of the whole rows alone took 9 s).  A field that is not
-- a column is left out (score_rows() finds it missing, as in the whole row); a profile of
-- more than 45 fields (jsonb_build_object takes at most 100 arguments) gets the whole row.
CREATE FUNCTION @extschema@.report_rows_rn_sql(profile text, ids text, whole boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    fields text := '';
    joins text := '';
    r text;
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT value FROM jsonb_array_elements(p.compiled->'fields') LOOP
        IF f ? 'from' THEN
            i := i + 1;
            extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
            fields := fields || format(', %L, j%s.v', f->>'field', i);
            joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                     f->'from'->>'key', f->'from'->>'column', (f->'from'->>'table')::regclass, f->'from'->>'key',
                                     i, i, p.compiled->>'id');
        ELSIF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.table_oid AND a.attname = f->>'field'
                         AND a.attnum > 0 AND NOT a.attisdropped) THEN
            fields := fields || format(', %L, t.%I', f->>'field', f->>'field');
        END IF;
    END LOOP;
    r := CASE WHEN whole OR jsonb_array_length(p.compiled->'fields') > 45 THEN 'to_jsonb(t)' || extra
              WHEN fields = '' THEN '''{}''::jsonb'
              ELSE 'jsonb_build_object(' || substr(fields, 3) || ')' END;
    IF ids IS NULL THEN
        RETURN format('SELECT t.%I::text AS id, %s AS r FROM %s t%s', p.compiled->>'id', r, p.table_oid, joins);
    END IF;
    RETURN format('SELECT n.rn, t.%I::text AS id, %s AS r FROM %s t JOIN %s n ON n.id = t.%I%s',
                  p.compiled->>'id', r, p.table_oid, ids, p.compiled->>'id', joins);
END;
$$;

COMMENT ON FUNCTION @extschema@.report_rows_rn_sql(text, text, boolean) IS
'internal: a query giving (rn, id, r) for the rows of a profile''s table in ids (rn, id), or (id, r) for every row without ids; r the profile''s fields, or the whole row';

-- The rows of a profile's table as (id text, r jsonb), child-table fields filled in: the
-- whole rows of report_rows_rn_sql().
CREATE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT @extschema@.report_rows_rn_sql(profile, NULL, true);
END;

-- The work of a report, left in work tables of this transaction: <ws>.cd_work_<pid>_rows
-- (rn, id, r, s), the row numbers of the table's ids <ws>.cd_work_<pid>_ids (rn, id) and the
-- scored candidate pairs <ws>.cd_work_<pid>_s1 .. _sN (a, b, score; a < b are row numbers);
-- returns N.  The caller drops them.
--
-- Rows are numbered 1..n in the order of their ids as text (the order the text ids of the
-- earlier pipeline sorted in, so ties in clustering break the same way), and everything
-- after that works on these integers.  Blocking keys: report_row_keys() in C, one call per
-- row (parallel workers), 64-bit hashes of the keys of blocking_keys().  Candidate pairs:
-- report_block_pairs() in C from the sorted keys: a key shared by at most block_cap rows
-- gives every pair of them; a larger block, and every block of a word-sound key (the sound
-- of one word of a name, shared by thousands of rows at scale), gives sorted-neighbourhood
-- pairs: rows in name order, each paired with the next two (one for word-sound keys); each
-- pair once.  Scores: score_rows in CREATE TABLE AS statements of batch pairs each, which
-- PostgreSQL runs with parallel workers.
--
-- Parallel query needs work tables that parallel workers can read: unlogged tables in the
-- extension's schema, created and dropped inside the caller's transaction (no other session
-- ever sees them; a cancelled report leaves nothing behind).  A user without CREATE on the
-- extension's schema gets temp work tables and a serial report.  Progress goes to NOTICEs
-- and to this backend's application_name.
CREATE FUNCTION @extschema@.report_work(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- a few large statements: JIT compiling the score expression saves nothing (the work is in C)
SET jit = off
AS $$
DECLARE
    p record;
    npairs bigint;
    nrows bigint;
    nkeys bigint;
    cap integer;
    chunk integer := 0;
    t0 timestamptz := clock_timestamp();
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    shared boolean := has_schema_privilege('@extschema@', 'CREATE');
    kind text;
    ws text;
    pre text := 'cd_work_' || pg_backend_pid() || '_';
    rows_t text;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    IF block_cap IS NULL OR block_cap < 2 THEN
        RAISE EXCEPTION 'block_cap must be at least 2' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    kind := CASE WHEN shared THEN 'UNLOGGED' ELSE 'TEMP' END;
    ws := CASE WHEN shared THEN quote_ident('@extschema@') ELSE 'pg_temp' END;
    rows_t := format('%s.%I', ws, pre || 'rows');

    -- row numbers, then the rows as jsonb with their name sort key (OFFSET 0 keeps the
    -- subquery whole, so r is built once per row and not again for s)
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT (row_number() OVER (ORDER BY t.%I::text))::int4 AS rn, t.%I AS id FROM %s t',
                   kind, ws, pre || 'ids', p.compiled->>'id', p.compiled->>'id', p.table_oid);
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'ids');
    EXECUTE format('CREATE %s TABLE %s AS SELECT q.rn, q.id, q.r, %s AS s FROM (%s OFFSET 0) q',
                   kind, rows_t, @extschema@.report_sort_sql(profile, 'q'),
                   @extschema@.report_rows_rn_sql(profile, format('%s.%I', ws, pre || 'ids')));
    GET DIAGNOSTICS nrows = ROW_COUNT;
    -- the ids table stays for the survivors step (clusters() reads the clustered rows whole)
    EXECUTE format('CREATE UNIQUE INDEX ON %s (rn)', rows_t);
    EXECUTE format('ANALYZE %s', rows_t);
    -- every row's keys from one C call; the planner counts C functions at the default cost
    -- (1) and would keep them out of parallel workers without these two settings
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT r.rn, k.h FROM %s r, unnest(@extschema@.report_row_keys(%L::jsonb, r.r)) k(h)',
                   kind, ws, pre || 'keys', rows_t, p.compiled);
    GET DIAGNOSTICS nkeys = ROW_COUNT;
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        nrows, nkeys, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- candidate pairs, each once, numbered for the scoring batches.  Above 100,000 rows the
    -- cap shrinks with the fourth root of the rows (block_cap * (100000 / rows) ^ 0.25, at
    -- least 2): the blocks of a key whose values do not grow with the table (a birth date)
    -- grow with it, and all pairs of blocks up to the cap made the candidates per row grow
    -- with the table (3.2 at 100,000 demo contacts, 5.3 at 1,000,000); larger blocks still
    -- give their neighbours in name order
    cap := block_cap;
    IF nrows > 100000 THEN
        cap := least(block_cap, greatest(2, round(block_cap * (100000.0 / nrows) ^ 0.25)::integer));
    END IF;
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT n, a, b FROM @extschema@.report_block_pairs(%L::regclass, %L::regclass, %s)',
                   kind, ws, pre || 'pairs', format('%s.%I', ws, pre || 'keys'), rows_t, cap);
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'keys');
    EXECUTE format('CREATE INDEX ON %s.%I (n)', ws, pre || 'pairs');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % candidate pairs (block cap %; % s)', npairs, cap,
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- scores, batch pairs per statement (each statement may run in parallel workers)
    chunk := @extschema@.report_score(profile, format('%s.%I', ws, pre || 'pairs')::regclass, 0, batch, 'candidate pairs');
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % pairs scored (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_work(text, integer, integer) IS
'internal: numbered rows and scored candidate pairs of a profile''s table in this transaction''s work tables (capped and sorted-neighbourhood blocking in C, scoring in parallel where allowed); returns the number of score tables';

-- Score the pairs (n, a, b) of a work table, batch pairs per CREATE TABLE AS statement, into
-- the work tables cd_work_<pid>_s<first_chunk + 1> ...; returns the number of the last.  A
-- batch is cut into ranges of n small enough for work_mem, and each range is scored by one
-- call of report_score_pairs() in C, which reads each of the range's rows once (not two
-- index lookups and two jsonb readings per pair, as a join of each pair to its rows did).
-- The ranges are the rows of a work table with one row per page (fillfactor 10 and a
-- filler), so that a parallel sequential scan of it hands the ranges out one by one to the
-- parallel workers and the leader; the planner, which does not count the scoring in the
-- scan it would split, is told that the table is worth parallel workers.  A NOTICE and
-- application_name after each batch.
CREATE FUNCTION @extschema@.report_score(profile text, pairs regclass, first_chunk integer, batch integer,
                                         what text DEFAULT 'candidate pairs')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    npairs bigint;
    done bigint := 0;
    lo bigint := 0;
    chunk integer := first_chunk;
    t1 timestamptz := clock_timestamp();
    app text := current_setting('application_name');
    mps text := current_setting('min_parallel_table_scan_size');
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    eta numeric;
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ranges text := @extschema@.report_work_name('ranges');
    row_bytes float8;
    range_size bigint;
BEGIN
    IF pairs IS NULL OR first_chunk IS NULL THEN
        RAISE EXCEPTION 'pairs and first_chunk must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch IS NULL OR batch < 1 THEN
        RAISE EXCEPTION 'batch must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('SELECT coalesce(max(n), 0) FROM %s', pairs) INTO npairs;
    -- A range holds its pairs' rows (detoasted) and their values: about 400 bytes per pair
    -- with the rows shared by pairs, but up to two whole rows per pair when rows are large
    -- (many fields, long child lists), so the range shrinks with the rows' size (a sample).
    EXECUTE format('SELECT avg(octet_length(r::text)) FROM (SELECT r FROM %s LIMIT 1000) s',
                   @extschema@.report_work_name('rows')) INTO row_bytes;
    range_size := greatest(100, least(batch, pg_size_bytes(current_setting('work_mem'))
                                             / greatest(400, 2 * coalesce(row_bytes, 0))::bigint));
    -- ranges (lo, hi] of n, numbered by batch k
    EXECUTE format('CREATE %s TABLE %s (k integer, lo bigint, hi bigint, filler text) WITH (fillfactor = 10, parallel_workers = %s)',
                   kind, ranges, greatest(current_setting('max_parallel_workers_per_gather')::integer, 0));
    EXECUTE format('INSERT INTO %1$s SELECT (b / %2$s)::integer + 1, g, least(g + %3$s, b + %2$s, %4$s), repeat(''.'', 600)
                      FROM generate_series(0, %4$s - 1, %2$s) b, generate_series(b, least(b + %2$s, %4$s) - 1, %3$s) g',
                   ranges, batch, range_size, npairs);
    EXECUTE format('ANALYZE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', '0', true),
            set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s AS
             SELECT x.a, x.b, x.score
               FROM %s g, @extschema@.report_score_pairs(%L, %L::regclass, %L::regclass, g.lo, g.hi, 0) x
              WHERE g.k = %s',
            kind, @extschema@.report_work_name('s' || chunk), ranges, profile, pairs,
            @extschema@.report_work_name('rows'), chunk - first_chunk);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % % (% %%), about % s left',
            done, npairs, what, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s %s, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, what, eta), 63), true);
    END LOOP;
    EXECUTE format('DROP TABLE %s', ranges);
    PERFORM set_config('min_parallel_table_scan_size', mps, true),
            set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    PERFORM set_config('application_name', app, true);
    RETURN chunk;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_score(text, regclass, integer, integer, text) IS
'internal: scores the pairs (n, a, b) of a report work table into score work tables, batch pairs per statement in ranges scored by report_score_pairs() (in parallel where allowed); returns the last score table''s number';

-- The name of a work table of this backend's report: unlogged in the extension's schema
-- (parallel workers can read it), or a temp table for a user without CREATE there.
CREATE FUNCTION @extschema@.report_work_name(suffix text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT format('%s.%I', CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN quote_ident('@extschema@') ELSE 'pg_temp' END,
                  'cd_work_' || pg_backend_pid() || '_' || suffix);
END;

COMMENT ON FUNCTION @extschema@.report_work_name(text) IS
'internal: the qualified name of a report work table of this backend';

-- The work tables of report_work(): the rows and the chunks score tables.
CREATE FUNCTION @extschema@.report_work_tables(chunks integer)
RETURNS regclass[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT array_agg(@extschema@.report_work_name(CASE WHEN i = 0 THEN 'rows' ELSE 's' || i END)::regclass ORDER BY i)
      FROM generate_series(0, greatest(chunks, 0)) i;
END;

COMMENT ON FUNCTION @extschema@.report_work_tables(integer) IS
'internal: the work tables report_work() left (rows first, then the score tables)';

-- Fill pg_temp.cd_report_rows (id, r) and pg_temp.cd_report_pairs (a, b, score) with every
-- candidate pair (a < b) and its score, from report_work().
CREATE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    chunks integer;
    w regclass[];
    npairs bigint;
BEGIN
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs; END IF;
    chunks := @extschema@.report_work(profile, block_cap, batch);
    w := @extschema@.report_work_tables(chunks);
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s', w[1]);
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF chunks = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE format('CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS
                        SELECT ra.id AS a, rb.id AS b, s.score FROM (%s) s JOIN %s ra ON ra.rn = s.a JOIN %s rb ON rb.rn = s.b',
                       (SELECT string_agg(format('SELECT a, b, score FROM %s', t), ' UNION ALL ') FROM unnest(w[2:]) t),
                       w[1], w[1]);
    END IF;
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids');
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RETURN npairs;
END;
$$;

COMMENT ON FUNCTION @extschema@.report_candidates(text, integer, integer) IS
'internal: candidate pairs of a profile''s table through capped and sorted-neighbourhood blocking, scored (in parallel where allowed), left in session temp tables';

CREATE FUNCTION @extschema@.find_duplicates(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20,
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
-- A~B~C of two different people never becomes one cluster.  The components, the scores of
-- the pairs inside them that no key found, and the clustering are report_cluster() in C.
-- Known different (0.2.0): a pair across two groups keeps them apart when its fields' evidence
-- is against it (a score below the profile's prior, so its weights sum below 0), 0.2 at most: a
-- pair scored 0.2 whose fields gave evidence for it (two typo spellings of one name, where the
-- prior is large) is not known different.
CREATE FUNCTION @extschema@.clusters(profile text, min_score float8 DEFAULT NULL, survivor text DEFAULT 'most_complete',
                                     block_cap integer DEFAULT 20, survivor_column text DEFAULT NULL)
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
    known_different float8;
    refs text := '';
    fk record;
    chunks integer;
    nscored integer;
    w regclass[];
    t0 timestamptz := clock_timestamp();
    kind text := CASE WHEN has_schema_privilege('@extschema@', 'CREATE') THEN 'UNLOGGED' ELSE 'TEMP' END;
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
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
    known_different := least(0.2, coalesce((p.compiled->>'prior')::float8, 0.2));
    chunks := @extschema@.report_work(profile, block_cap);
    w := @extschema@.report_work_tables(chunks);

    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- every pair inside the components of the strong pairs (those no key found numbered n,
    -- with no score yet), then the missing ones scored like the candidates (in parallel):
    -- report_cluster() reads these, not every candidate pair again
    EXECUTE format('CREATE %s TABLE %s AS SELECT n, a, b, score FROM @extschema@.report_missing_pairs(%L::regclass, %L::regclass[], %L::float8)',
                   kind, @extschema@.report_work_name('inner'), w[1], w[2:], threshold);
    IF chunks > 0 THEN
        EXECUTE 'DROP TABLE ' || array_to_string(w[2:], ', ');
    END IF;
    EXECUTE format('CREATE INDEX ON %s (n)', @extschema@.report_work_name('inner'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('inner'));
    nscored := @extschema@.report_score(profile, @extschema@.report_work_name('inner')::regclass, chunks, 500000,
                                        'pairs inside components');
    w := ARRAY[w[1], @extschema@.report_work_name('inner')::regclass]
         || (SELECT coalesce(array_agg(@extschema@.report_work_name('s' || i)::regclass ORDER BY i), '{}')
               FROM generate_series(chunks + 1, nscored) i);
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_report_clusters; END IF;
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT k.rn, k.center, k.score FROM @extschema@.report_cluster(profile, w[1], w[2:], threshold, known_different) k;
    RAISE NOTICE 'crmdedup: % clusters (% s)',
        (SELECT count(*) FROM (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) c),
        round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    -- the suggested survivor of each cluster
    IF survivor = 'most_referenced' THEN
        FOR fk IN SELECT c.conrelid::regclass AS child, a.attname AS col
                    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                   WHERE c.contype = 'f' AND c.confrelid = p.table_oid AND cardinality(c.conkey) = 1 LOOP
            refs := refs || format(' + (SELECT count(*) FROM %s x WHERE x.%I::text = f.id)', fk.child, fk.col);
        END LOOP;
    END IF;
    -- the members of clusters of two or more: (rn, id of the table's key type, cluster_id, score)
    EXECUTE format('CREATE %1$s TABLE %3$s AS SELECT k.rn, i.id, ic.id::text AS cluster_id, k.score
                      FROM pg_temp.cd_report_clusters k
                      JOIN (SELECT center FROM pg_temp.cd_report_clusters GROUP BY center HAVING count(*) > 1) big USING (center)
                      JOIN %2$s i ON i.rn = k.rn JOIN %2$s ic ON ic.rn = k.center',
                   kind, @extschema@.report_work_name('ids'), @extschema@.report_work_name('members'));
    EXECUTE format('ANALYZE %s', @extschema@.report_work_name('members'));
    -- each member's rank under the survivor rule, which reads the whole row (as
    -- report_rows_sql() gives it, child-table fields included), built for the members only;
    -- a CREATE TABLE AS, which may run in parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s AS SELECT c.cluster_id, f.id, c.score, %s AS rank_value
                      FROM %s c JOIN (%s) f ON f.rn = c.rn',
                   kind, @extschema@.report_work_name('ranks'),
                   CASE survivor
                       WHEN 'most_complete' THEN '@extschema@.filled_fields(f.r)'
                       WHEN 'most_referenced' THEN '0' || refs
                       ELSE format('(f.r->>%L)::timestamptz', coalesce(survivor_column, 'created_at')) END,
                   @extschema@.report_work_name('members'),
                   @extschema@.report_rows_rn_sql(profile, @extschema@.report_work_name('members'), true));
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    RETURN QUERY EXECUTE format(
        'WITH s AS (SELECT DISTINCT ON (cluster_id) cluster_id, id AS survivor
                      FROM %1$s ORDER BY cluster_id, rank_value %2$s NULLS LAST, id)
         SELECT m.cluster_id, m.id, m.score, m.id = s.survivor, s.survivor
           FROM %1$s m JOIN s USING (cluster_id)
          ORDER BY m.cluster_id, m.id = s.survivor DESC, m.score DESC, m.id',
        @extschema@.report_work_name('ranks'),
        CASE survivor WHEN 'oldest' THEN 'ASC' ELSE 'DESC' END);
    EXECUTE 'DROP TABLE ' || array_to_string(w, ', ') || ', ' || @extschema@.report_work_name('ids') || ', '
            || @extschema@.report_work_name('members') || ', ' || @extschema@.report_work_name('ranks');
END;
$$;

COMMENT ON FUNCTION @extschema@.clusters(text, float8, text, integer, text) IS
'duplicate clusters of a profile''s table: members, their score against the cluster''s best record, and a suggested survivor';

-- The numbers a manager asks for first.
CREATE FUNCTION @extschema@.summary(profile text, min_score float8 DEFAULT NULL, block_cap integer DEFAULT 20)
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
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_summary_clusters, pg_temp.cd_report_rows; END IF;
    CREATE TEMP TABLE cd_summary_clusters ON COMMIT DROP AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
    EXECUTE format('SELECT count(*) FROM %s', (SELECT pr.table_oid FROM @extschema@.profiles pr WHERE pr.name = profile)) INTO nrows;
    -- the clustered rows as jsonb, for the reasons
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT q.id, q.r FROM (%s) q
                     WHERE q.id IN (SELECT c.id FROM pg_temp.cd_summary_clusters c)', @extschema@.report_rows_sql(profile));
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
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
    IF pg_catalog.pg_my_temp_schema() OPERATOR(pg_catalog.<>) 0::pg_catalog.oid THEN DROP TABLE IF EXISTS pg_temp.cd_auto_merge_plan; END IF;
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
