-- bench/name_index.sql: crmdedup.name_ops against pg_trgm's GIN and GiST indexes on the same
-- names (loaded by bench/name_index from bench/name_index_data.py).  Prints one table: build
-- time, size, median and p95 latency of a top-10 candidate query, recall@10 of the true
-- duplicate per kind of variant, and the ratios to pg_trgm GIN.  Not a test.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET max_parallel_maintenance_workers = 0;
SET maintenance_work_mem = '256MB';
SET extra_float_digits = 0;

-- the same rows twice: the GiST index on a copy, so that "%" cannot pick it over the GIN one
CREATE TABLE names_gist AS TABLE names;
VACUUM ANALYZE names;
VACUUM ANALYZE names_gist;

CREATE TABLE builds (method text PRIMARY KEY, seconds float8, bytes bigint);
CREATE PROCEDURE build(method text, tab regclass, idx text, ddl text)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE format('CREATE INDEX %I ON %s USING %s', idx, tab, ddl);
    INSERT INTO builds VALUES (method, extract(epoch FROM clock_timestamp() - t0),
                               pg_relation_size(idx::regclass));
END $$;
CALL build('trgm_gin', 'names', 'names_trgm_gin', 'gin (name gin_trgm_ops)');
CALL build('name_ops', 'names', 'names_name_ops', 'gin (name crmdedup.name_ops)');
CALL build('trgm_gist', 'names_gist', 'names_trgm_gist', 'gist (name gist_trgm_ops)');
ANALYZE names;
ANALYZE names_gist;

-- one top-10 query of a method: the ids, best first, and the score the 10th reached
CREATE FUNCTION top10(method text, q text, OUT ids int[], OUT last float8)
LANGUAGE plpgsql AS $$
BEGIN
    IF method = 'trgm_gin' THEN
        EXECUTE format('SELECT array_agg(id ORDER BY s DESC, h), min(s) FROM (
              SELECT id, similarity(name, %1$L) AS s, hashint4(id) AS h FROM names
               WHERE name OPERATOR(public.%%) %1$L ORDER BY 2 DESC, 3 LIMIT 10) t', q) INTO ids, last;
    ELSIF method = 'trgm_gist' THEN
        EXECUTE format('SELECT array_agg(id ORDER BY d), 1 - max(d) FROM (
              SELECT id, name OPERATOR(public.<->) %1$L AS d FROM names_gist
               ORDER BY name OPERATOR(public.<->) %1$L LIMIT 10) t', q) INTO ids, last;
    ELSE
        EXECUTE format('SELECT array_agg(id ORDER BY s DESC, h), min(s) FROM (
              SELECT id, crmdedup.name_similarity(name, %1$L) AS s, hashint4(id) AS h FROM names
               WHERE name OPERATOR(crmdedup.%%~) %1$L ORDER BY 2 DESC, 3 LIMIT 10) t', q) INTO ids, last;
    END IF;
    IF coalesce(cardinality(ids), 0) < 10 THEN
        last := 0;		-- fewer than 10 found: anything the index finds ranks in the top 10
    END IF;
END $$;

-- the plans: each method's index must serve its query (fails the run otherwise)
DO $$
DECLARE
    q text := (SELECT query FROM queries ORDER BY id LIMIT 1);
    m record;
    line text;
    plan text;
BEGIN
    FOR m IN SELECT * FROM (VALUES
        ('names_trgm_gin', format('SELECT id FROM names WHERE name OPERATOR(public.%%) %L ORDER BY similarity(name, %L) DESC LIMIT 10', q, q)),
        ('names_trgm_gist', format('SELECT id FROM names_gist ORDER BY name OPERATOR(public.<->) %L LIMIT 10', q)),
        ('names_name_ops', format('SELECT id FROM names WHERE name OPERATOR(crmdedup.%%~) %L ORDER BY crmdedup.name_similarity(name, %L) DESC LIMIT 10', q, q)))
        v(idx, sql) LOOP
        plan := '';
        FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || m.sql LOOP
            plan := plan || line || E'\n';
        END LOOP;
        IF position(m.idx IN plan) = 0 THEN
            RAISE EXCEPTION 'the plan does not use %: %', m.idx, plan;
        END IF;
    END LOOP;
END $$;

CREATE TABLE runs (method text, qid int, ms float8, ids int[], last float8);
CREATE PROCEDURE run_all(warm int)
LANGUAGE plpgsql AS $$
DECLARE
    q record;
    m text;
    t0 timestamptz;
    r record;
    methods text[] := ARRAY['trgm_gin', 'name_ops', 'trgm_gist'];
    k int := 0;
BEGIN
    -- warm the caches: every method over the first queries, untimed
    FOR q IN SELECT * FROM queries ORDER BY id LIMIT warm LOOP
        FOREACH m IN ARRAY methods LOOP
            PERFORM top10(m, q.query);
        END LOOP;
    END LOOP;
    -- interleaved: each query on each method in turn, the order rotating
    FOR q IN SELECT * FROM queries ORDER BY id LOOP
        k := k + 1;
        FOR i IN 0 .. 2 LOOP
            m := methods[1 + (i + k) % 3];
            t0 := clock_timestamp();
            SELECT * INTO r FROM top10(m, q.query);
            INSERT INTO runs VALUES (m, q.id,
                1000 * extract(epoch FROM clock_timestamp() - t0), r.ids, r.last);
        END LOOP;
    END LOOP;
END $$;
CALL run_all(10);

-- recall@10, four ways (see README, "name index" benchmark):
--   strict: the true row, or a row of the very same name (the same string), is among the 10
--   same name: or a row of the true row's name up to script, case, punctuation and word
--     order (equal crmdedup.person_key: Sergey Nikitin = Никитин Сергей), which no
--     name-only method can tell from the true row
--   with ties: or the true row scores as high as the 10th and the method's operator keeps
--     it (the order among equal scores is arbitrary: "Sokolov D.")
--   namesakes excused: "with ties", or at least 10 other people carry the query's own
--     name (person_key of the query; generated names repeat: ~100 rows are "Иван Попов",
--     so the patronymic-less query of "Иван Павлович Попов" has 100 exact answers, and
--     the true row cannot reach the top 10 by its name)
CREATE TABLE qkeys AS
SELECT q.id AS qid, crmdedup.person_key(q.query) AS qkey, crmdedup.person_key(t.name) AS tkey
  FROM queries q JOIN names t ON t.id = q.truth;
CREATE TABLE qnamesakes AS		-- one pass: rows carrying a query's name, not the true one's
SELECT k.qid, count(n.id) AS others
  FROM qkeys k LEFT JOIN names n ON crmdedup.person_key(n.name) = k.qkey AND k.qkey <> k.tkey
 GROUP BY k.qid;
CREATE TABLE hits AS
SELECT r.method, q.kind, r.qid, r.ms,
       x.found AS strict,
       x.same,
       x.same OR CASE r.method
         WHEN 'trgm_gin' THEN t.name OPERATOR(public.%) q.query
                              AND similarity(t.name, q.query) >= r.last - 1e-9
         WHEN 'trgm_gist' THEN similarity(t.name, q.query) >= r.last - 1e-9
         ELSE t.name OPERATOR(crmdedup.%~) q.query
              AND crmdedup.name_similarity(t.name, q.query) >= r.last - 1e-9 END AS tied,
       qn.others >= 10 AS excused,
       CASE WHEN r.method = 'name_ops' THEN t.name OPERATOR(crmdedup.%~) q.query
            ELSE t.name OPERATOR(public.%) q.query END AS accepted
  FROM runs r JOIN queries q ON q.id = r.qid JOIN names t ON t.id = q.truth
       JOIN qkeys k ON k.qid = q.id JOIN qnamesakes qn ON qn.qid = q.id,
       LATERAL (SELECT coalesce(bool_or(f.name = t.name), false) AS found,
                       coalesce(bool_or(crmdedup.person_key(f.name) = k.tkey), false) AS same
                  FROM names f WHERE f.id = ANY (r.ids)) x;

\echo
SELECT format('%s rows, %s queries (%s per kind of variant), pg_trgm.similarity_threshold %s, crmdedup.name_threshold %s, lc_ctype %s',
              (SELECT count(*) FROM names), (SELECT count(*) FROM queries),
              (SELECT count(*) FROM queries) / 6,
              current_setting('pg_trgm.similarity_threshold'),
              current_setting('crmdedup.name_threshold'),
              (SELECT datctype FROM pg_database WHERE datname = current_database())) AS setup;

WITH lat AS (
    SELECT method, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
           avg(strict::int) AS recall, avg(same::int) AS recall_same, avg(tied::int) AS recall_ties,
           avg((tied OR excused)::int) AS recall_exc, count(*) FILTER (WHERE excused) AS n_exc,
           avg(accepted::int) AS accepted, count(*) AS n
      FROM hits GROUP BY method),
kinds AS (
    SELECT method, string_agg(format('%s %s/%s/%s/%s', kind, round(avg_s, 2), round(avg_n, 2),
                                     round(avg_t, 2), round(avg_e, 2)), ', '
                              ORDER BY kind) AS per_kind
      FROM (SELECT method, kind, avg(strict::int) AS avg_s, avg(same::int) AS avg_n,
                   avg(tied::int) AS avg_t, avg((tied OR excused)::int) AS avg_e
              FROM hits GROUP BY 1, 2) x GROUP BY 1),
base AS (SELECT b.seconds, b.bytes, l.med FROM builds b JOIN lat l USING (method) WHERE method = 'trgm_gin')
SELECT b.method AS index,
       round(b.seconds::numeric, 1) AS "build s",
       round((b.seconds / base.seconds)::numeric, 1) AS "× gin",
       round(b.bytes / 1048576.0, 1) AS "size MiB",
       round((b.bytes::float8 / base.bytes)::numeric, 2) AS "× gin ",
       round(l.med::numeric, 1) AS "median ms",
       round((l.med / base.med)::numeric, 2) AS "× gin  ",
       round(l.p95::numeric, 1) AS "p95 ms",
       round(l.recall, 3) AS "recall@10",
       -- 95 % Wilson interval of the strict recall over n queries
       format('%s–%s', round(((l.recall + 1.92 / l.n - 1.96 * sqrt(l.recall * (1 - l.recall) / l.n + 0.9604 / l.n ^ 2))
                              / (1 + 3.8416 / l.n))::numeric, 3),
                       round(((l.recall + 1.92 / l.n + 1.96 * sqrt(l.recall * (1 - l.recall) / l.n + 0.9604 / l.n ^ 2))
                              / (1 + 3.8416 / l.n))::numeric, 3)) AS "95 % CI",
       round(l.recall_same, 3) AS "same name",
       round(l.recall_ties, 3) AS "with ties",
       format('%s (%s)', round(l.recall_exc, 3), l.n_exc) AS "namesakes excused (queries)",
       round(l.accepted, 3) AS "operator keeps truth",
       k.per_kind AS "recall@10 per kind: strict/same name/with ties/namesakes excused"
  FROM builds b JOIN lat l USING (method) JOIN kinds k USING (method), base
 ORDER BY b.method = 'trgm_gin' DESC, b.method = 'trgm_gist' DESC;

-- where the time goes: median latency (ms) per kind of variant and method
SELECT kind,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE method = 'trgm_gin'))::numeric, 1) AS "trgm_gin ms",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE method = 'trgm_gist'))::numeric, 1) AS "trgm_gist ms",
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE method = 'name_ops'))::numeric, 1) AS "name_ops ms"
  FROM hits GROUP BY kind ORDER BY kind;
