-- Reports: candidate pairs through blocking keys, clusters that do not chain, a summary,
-- and auto_merge of the clusters above a high score.

-- The rows of a profile's table as (id text, r jsonb), child-table fields filled in.  Each
-- child table is aggregated once and joined (a hash join) rather than looked up per row by a
-- correlated subquery: PostgreSQL 15 does not run correlated subqueries in parallel workers,
-- and a million index lookups per child table cost more than one pass over it.
CREATE FUNCTION @extschema@.report_rows_sql(profile text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    f jsonb;
    extra text := '';
    joins text := '';
    i integer := 0;
BEGIN
    SELECT * INTO p FROM @extschema@.profiles pr WHERE pr.name = profile;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'profile "%" does not exist', profile USING ERRCODE = 'undefined_object';
    END IF;
    FOR f IN SELECT * FROM jsonb_array_elements(p.compiled->'fields') WHERE value ? 'from' LOOP
        i := i + 1;
        extra := extra || format(' || jsonb_build_object(%L, j%s.v)', f->>'field', i);
        joins := joins || format(' LEFT JOIN (SELECT c.%I AS k, jsonb_agg(c.%I) AS v FROM %s c GROUP BY c.%I) j%s ON j%s.k = t.%I',
                                 f->'from'->>'key', f->'from'->>'column', f->'from'->>'table', f->'from'->>'key',
                                 i, i, p.compiled->>'id');
    END LOOP;
    RETURN format('SELECT t.%I::text AS id, to_jsonb(t)%s AS r FROM %s t%s', p.compiled->>'id', extra, p.table_oid, joins);
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

-- Fill pg_temp.cd_report_rows (id, r) and pg_temp.cd_report_pairs (a, b, score) with every
-- candidate pair and its score.
--
-- Blocking: a key shared by at most block_cap rows gives every pair of them; a larger block,
-- and every block of a word-sound key ('w:', the sound of one word of a name, which is shared
-- by thousands of rows at scale), gives sorted-neighbourhood pairs instead: rows sorted by
-- their name key, each paired with the next two (one for word-sound keys).  So the number of
-- pairs grows with the rows, not with the square of the largest blocks: on 50,000 demo
-- contacts all pairs of blocks up to 100 gave 804,000 pairs covering 20,673 of the 21,795
-- true pairs; this gives 130,000 pairs covering 20,518.  Each pair is emitted once.
--
-- Parallel query: the work runs in CREATE TABLE AS statements, which PostgreSQL runs with
-- parallel workers, over unlogged work tables in the extension's schema (parallel workers
-- cannot read session temp tables).  They are created and dropped inside the caller's
-- transaction, so no other session ever sees them and a cancelled report leaves nothing
-- behind.  A user without CREATE on the extension's schema gets temp work tables and a
-- serial report.  Memory is bounded by work_mem (sorts and hashes spill to disk).
-- Progress goes to NOTICEs and to this backend's application_name.
CREATE FUNCTION @extschema@.report_candidates(profile text, block_cap integer DEFAULT 20, batch integer DEFAULT 500000)
RETURNS bigint
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
    done bigint := 0;
    lo bigint := 0;
    chunk integer := 0;
    chunks text[] := '{}';
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    app text := current_setting('application_name');
    hj text := current_setting('enable_hashjoin');
    mj text := current_setting('enable_mergejoin');
    mps text := current_setting('min_parallel_table_scan_size');
    ptc text := current_setting('parallel_tuple_cost');
    psc text := current_setting('parallel_setup_cost');
    eta numeric;
    shared boolean := has_schema_privilege('@extschema@', 'CREATE');
    kind text;
    ws text;
    pre text := 'cd_work_' || pg_backend_pid() || '_';
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
    DROP TABLE IF EXISTS pg_temp.cd_report_rows, pg_temp.cd_report_keys, pg_temp.cd_report_pairs;

    -- rows with their sort key
    -- OFFSET 0 keeps the subquery whole, so r is built once per row and not again for s
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT q.id, q.r, %s AS s FROM (%s OFFSET 0) q',
                   kind, ws, pre || 'rows', @extschema@.report_sort_sql(profile, 'q'),
                   @extschema@.report_rows_sql(profile));
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'rows');
    -- the sort keys alone: the pair step joins them to millions of keys, and reading them out of
    -- the wide rows table (every row's jsonb) costs far more than this copy
    EXECUTE format('CREATE %s TABLE %s.%I AS SELECT id, s FROM %s.%I', kind, ws, pre || 'sort', ws, pre || 'rows');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'sort');
    -- every (row, key) once
    -- the key functions are C functions of the default cost (1), so the planner thinks moving
    -- each key through a Gather costs more than computing it; they cost microseconds, and with
    -- these two settings the keys of a large table are computed by parallel workers
    PERFORM set_config('parallel_tuple_cost', '0.001', true), set_config('parallel_setup_cost', '100', true);
    EXECUTE format('CREATE %s TABLE %s.%I AS %s', kind, ws, pre || 'keys', @extschema@.report_keys_sql(profile));
    GET DIAGNOSTICS nkeys = ROW_COUNT;
    PERFORM set_config('parallel_tuple_cost', ptc, true), set_config('parallel_setup_cost', psc, true);
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'keys');
    EXECUTE format('SELECT count(*) FROM %s.%I', ws, pre || 'rows') INTO nrows;
    RAISE NOTICE 'crmdedup: % rows, % blocking keys (% s)',
        nrows, nkeys, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- blocks: every (key, row) of a key shared by two rows or more, with the block's size and the
    -- row's next two neighbours in name order, from one sort of the keys (the earlier form,
    -- grouping the keys once for small blocks and once for large ones, spilled twice as much)
    EXECUTE format(
        'CREATE %1$s TABLE %2$s.%3$I AS
         SELECT key, id, c, n1, n2 FROM (
           SELECT k.key, k.id, count(*) OVER (PARTITION BY k.key) AS c,
                  lead(k.id, 1) OVER w AS n1, lead(k.id, 2) OVER w AS n2
             FROM %2$s.%4$I k JOIN %2$s.%5$I r ON r.id = k.id
            WHERE k.key IS NOT NULL
           WINDOW w AS (PARTITION BY k.key ORDER BY r.s, k.id)) b
         WHERE c > 1',
        kind, ws, pre || 'blocks', pre || 'keys', pre || 'sort');
    EXECUTE format('DROP TABLE %s.%I, %s.%I', ws, pre || 'keys', ws, pre || 'sort');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'blocks');
    -- candidate pairs, each once (a < b): all pairs of a small block, neighbours in a large one
    -- and in every word-sound block
    EXECUTE format(
        'CREATE %1$s TABLE %2$s.%3$I AS
         SELECT row_number() OVER () AS n, a, b FROM (
           SELECT DISTINCT a, b FROM (
             SELECT x.id AS a, y.id AS b
               FROM %2$s.%4$I x JOIN %2$s.%4$I y ON y.key = x.key AND x.id < y.id
              WHERE x.c <= %5$s AND y.c <= %5$s AND x.key NOT LIKE ''w:%%'' AND y.key NOT LIKE ''w:%%''
             UNION ALL
             SELECT least(id, nb), greatest(id, nb)
               FROM %2$s.%4$I,
                    unnest(CASE WHEN key LIKE ''w:%%'' THEN ARRAY[n1] ELSE ARRAY[n1, n2] END) nb
              WHERE (c > %5$s OR key LIKE ''w:%%'') AND nb IS NOT NULL AND nb <> id) u) d',
        kind, ws, pre || 'pairs', pre || 'blocks', block_cap);
    GET DIAGNOSTICS npairs = ROW_COUNT;
    EXECUTE format('DROP TABLE %s.%I', ws, pre || 'blocks');
    EXECUTE format('CREATE INDEX ON %s.%I (n)', ws, pre || 'pairs');
    EXECUTE format('CREATE UNIQUE INDEX ON %s.%I (id)', ws, pre || 'rows');
    EXECUTE format('ANALYZE %s.%I', ws, pre || 'pairs');
    RAISE NOTICE 'crmdedup: % candidate pairs (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);

    -- scores, batch pairs per statement (each statement may run in parallel workers).  Each
    -- pair's two rows are fetched through the rows' primary key: a hash join would hash every
    -- row's jsonb again for every batch (and spill it to disk past work_mem) to use a fraction
    t1 := clock_timestamp();
    -- and the planner, which does not count score_rows' cost in the scan it would split, is told
    -- that a pairs table of any size is worth parallel workers
    PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
            set_config('min_parallel_table_scan_size', '0', true);
    WHILE lo < npairs LOOP
        chunk := chunk + 1;
        EXECUTE format(
            'CREATE %s TABLE %s.%I AS
             SELECT c.a, c.b, (@extschema@.score_rows(%L, ra.r, rb.r, false)).score AS score
               FROM %s.%I c JOIN %s.%I ra ON ra.id = c.a JOIN %s.%I rb ON rb.id = c.b
              WHERE c.n > %s AND c.n <= %s',
            kind, ws, pre || 's' || chunk, profile, ws, pre || 'pairs', ws, pre || 'rows', ws, pre || 'rows',
            lo, lo + batch);
        chunks := chunks || format('SELECT a, b, score FROM %s.%I', ws, pre || 's' || chunk);
        lo := lo + batch;
        done := least(lo, npairs);
        eta := CASE WHEN done > 0 THEN round((extract(epoch FROM clock_timestamp() - t1) / done * (npairs - done))::numeric, 0) END;
        RAISE NOTICE 'crmdedup: scored % of % candidate pairs (% %%), about % s left',
            done, npairs, round(100.0 * done / greatest(npairs, 1)), eta;
        PERFORM set_config('application_name',
                           left(format('crmdedup %s: %s%% of %s pairs, %s s left', profile,
                                       round(100.0 * done / greatest(npairs, 1)), npairs, eta), 63), true);
    END LOOP;

    PERFORM set_config('enable_hashjoin', hj, true), set_config('enable_mergejoin', mj, true),
            set_config('min_parallel_table_scan_size', mps, true);
    -- the results go to session temp tables for the steps that follow; the work tables go
    EXECUTE format('CREATE TEMP TABLE cd_report_rows ON COMMIT DROP AS SELECT id, r FROM %s.%I', ws, pre || 'rows');
    ALTER TABLE pg_temp.cd_report_rows ADD PRIMARY KEY (id);
    IF cardinality(chunks) = 0 THEN
        CREATE TEMP TABLE cd_report_pairs (a text, b text, score float8) ON COMMIT DROP;
    ELSE
        EXECUTE 'CREATE TEMP TABLE cd_report_pairs ON COMMIT DROP AS ' || array_to_string(chunks, ' UNION ALL ');
    END IF;
    EXECUTE format('DROP TABLE %s.%I, %s.%I', ws, pre || 'rows', ws, pre || 'pairs');
    FOR i IN 1 .. chunk LOOP
        EXECUTE format('DROP TABLE %s.%I', ws, pre || 's' || i);
    END LOOP;
    ANALYZE pg_temp.cd_report_rows;
    ANALYZE pg_temp.cd_report_pairs;
    RAISE NOTICE 'crmdedup: % pairs scored (% s)', npairs, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    PERFORM set_config('application_name', app, true);
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
-- A~B~C of two different people never becomes one cluster.
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
    refs text := '';
    fk record;
    labels integer[];
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

    -- connected components over the strong pairs: records numbered, one union-find in C
    -- (label propagation in SQL took one pass over the pairs per step of the longest path)
    DROP TABLE IF EXISTS pg_temp.cd_report_comp, pg_temp.cd_report_clusters, pg_temp.cd_report_nodes;
    RAISE NOTICE 'crmdedup: clustering (% s so far)', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
    CREATE TEMP TABLE cd_report_nodes ON COMMIT DROP AS
        SELECT x AS id, (row_number() OVER ())::integer AS k
          FROM (SELECT DISTINCT x FROM pg_temp.cd_report_pairs, unnest(ARRAY[a, b]) x WHERE score >= threshold) d;
    ALTER TABLE pg_temp.cd_report_nodes ADD PRIMARY KEY (id);
    -- the labels once into a variable: as a subquery joined to the nodes, the planner may run
    -- it again for every node
    SELECT @extschema@.pair_components((SELECT count(*)::integer FROM pg_temp.cd_report_nodes),
                                       coalesce(array_agg(na.k), '{}'), coalesce(array_agg(nb.k), '{}'))
      INTO labels
      FROM pg_temp.cd_report_pairs p
      JOIN pg_temp.cd_report_nodes na ON na.id = p.a
      JOIN pg_temp.cd_report_nodes nb ON nb.id = p.b
     WHERE p.score >= threshold;
    CREATE TEMP TABLE cd_report_comp (id text PRIMARY KEY, label integer) ON COMMIT DROP;
    INSERT INTO pg_temp.cd_report_comp
        SELECT n.id, l.label FROM unnest(labels) WITH ORDINALITY AS l(label, k) JOIN pg_temp.cd_report_nodes n ON n.k = l.k;
    CREATE INDEX ON pg_temp.cd_report_pairs (a, b);
    ANALYZE pg_temp.cd_report_comp;
    ANALYZE pg_temp.cd_report_pairs;

    RAISE NOTICE 'crmdedup: % records in % components above %',
        (SELECT count(*) FROM pg_temp.cd_report_comp), (SELECT count(DISTINCT label) FROM pg_temp.cd_report_comp), threshold;
    -- a component of two is a cluster of two: set-based, no loop
    CREATE TEMP TABLE cd_report_clusters ON COMMIT DROP AS
        SELECT x AS id, g.ids[1] AS cluster_id, g.ids[1] AS center,
               CASE WHEN x = g.ids[1] THEN 1 ELSE
                   (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr WHERE pr.a = g.ids[1] AND pr.b = g.ids[2]) END AS score
          FROM (SELECT array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
                HAVING count(*) = 2) g, unnest(g.ids) x;
    -- larger components, set-based: every pair inside a component is scored (pairs no key
    -- found are scored now), then each component is clustered by cluster_pairs
    DROP TABLE IF EXISTS pg_temp.cd_report_big, pg_temp.cd_report_inner;
    CREATE TEMP TABLE cd_report_big ON COMMIT DROP AS
        SELECT label, array_agg(c.id ORDER BY c.id) AS ids FROM pg_temp.cd_report_comp c GROUP BY label
        HAVING count(*) > 2;
    CREATE TEMP TABLE cd_report_inner ON COMMIT DROP AS
        SELECT g.label, ia, ib, g.ids[ia] AS a, g.ids[ib] AS b,
               (SELECT max(pr.score) FROM pg_temp.cd_report_pairs pr WHERE pr.a = g.ids[ia] AND pr.b = g.ids[ib]) AS score
          FROM pg_temp.cd_report_big g, generate_subscripts(g.ids, 1) ia, generate_subscripts(g.ids, 1) ib
         WHERE ia < ib;
    UPDATE pg_temp.cd_report_inner i
       SET score = (@extschema@.score_rows(profile, ra.r, rb.r, false)).score
      FROM pg_temp.cd_report_rows ra, pg_temp.cd_report_rows rb
     WHERE i.score IS NULL AND ra.id = i.a AND rb.id = i.b;
    INSERT INTO pg_temp.cd_report_clusters
    SELECT k.id, k.cluster_id, k.center, k.score_to_center
      FROM (SELECT i.label, array_agg(i.ia ORDER BY i.ia, i.ib) AS a, array_agg(i.ib ORDER BY i.ia, i.ib) AS b,
                   array_agg(i.score ORDER BY i.ia, i.ib) AS s
              FROM pg_temp.cd_report_inner i GROUP BY i.label) m
      JOIN pg_temp.cd_report_big g ON g.label = m.label,
           @extschema@.cluster_pairs(g.ids, m.a, m.b, m.s, threshold) k;

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
    DROP TABLE IF EXISTS pg_temp.cd_summary_clusters;
    CREATE TEMP TABLE cd_summary_clusters ON COMMIT DROP AS SELECT * FROM @extschema@.clusters(profile, min_score, 'most_complete', block_cap);
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
