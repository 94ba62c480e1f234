-- bench/score.sql: microseconds per pair of crmdedup.score_rows on the demo CRM, next to the
-- PL/pgSQL scoring of 0.1.0 (bench_ref.match_rows_0_1, created by bench/score from
-- sql/score.sql) and the new match_rows, in the same run.  Each timing is the best of 3
-- rounds, the methods taking turns.  Run by bench/score; not a test.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;
\pset footer off

SELECT crmdedup.create_profile('demo', 'crm.contacts', '{
  "region": "RU",
  "fields": {
    "full_name": "person_name", "first_name": "first_name", "last_name": "last_name",
    "middle_name": "middle_name", "birth_date": "birth_date", "city": "city",
    "phones": {"role": "phone", "from": {"table": "crm.contact_phones", "column": "phone", "key": "contact_id"}},
    "emails": {"role": "email", "from": {"table": "crm.contact_emails", "column": "email", "key": "contact_id"}}
  }}') \g /dev/null
SELECT crmdedup.analyze('demo') \g /dev/null
SELECT p.analyzed_rows, (SELECT count(*) FROM crmdedup.term_stats t WHERE t.profile = p.name) AS term_stats_rows
  FROM crmdedup.profiles p WHERE p.name = 'demo';

-- rows as score_rows takes them: the row with its child-table values under the field names
CREATE TABLE bench_rows AS
SELECT c.id, to_jsonb(c) || jsonb_build_object(
         'phones', coalesce((SELECT jsonb_agg(p.phone) FROM crm.contact_phones p WHERE p.contact_id = c.id), '[]'),
         'emails', coalesce((SELECT jsonb_agg(e.email) FROM crm.contact_emails e WHERE e.contact_id = c.id), '[]')) AS j
  FROM crm.contacts c;
ALTER TABLE bench_rows ADD PRIMARY KEY (id);
-- candidate pairs: every true duplicate pair, then neighbours by id (mostly unrelated)
CREATE TABLE bench_pairs AS
SELECT a, b FROM (
  SELECT t1.contact_id AS a, t2.contact_id AS b, 0 AS k
    FROM crm.demo_truth t1 JOIN crm.demo_truth t2 ON t1.original_id = t2.original_id AND t1.contact_id < t2.contact_id
  UNION ALL
  SELECT c.id, c.id + k, k FROM crm.contacts c, generate_series(1, 6) k WHERE c.id + k <= 20000
) s ORDER BY k, a LIMIT 100000;
CREATE TABLE bench_small AS SELECT * FROM bench_pairs ORDER BY md5(a::text || b::text) LIMIT 5000;
ANALYZE bench_rows; ANALYZE bench_pairs; ANALYZE bench_small;
SELECT count(*) AS pairs, count(*) FILTER (WHERE EXISTS (
         SELECT 1 FROM crm.demo_truth t1 JOIN crm.demo_truth t2 ON t1.original_id = t2.original_id
          WHERE t1.contact_id = a AND t2.contact_id = b)) AS true_duplicates
  FROM bench_pairs;

CREATE TABLE bench_times (method text, ord int, pairs int, ms float8);
CREATE FUNCTION pg_temp.timed(method text, ord int, pairs int, q text, workers int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
BEGIN
    PERFORM set_config('max_parallel_workers_per_gather', workers::text, true);
    t0 := clock_timestamp();
    EXECUTE q;
    INSERT INTO bench_times VALUES (method, ord, pairs,
        extract(epoch FROM clock_timestamp() - t0) * 1000);
END;
$$;

-- one pair per statement: a PL/pgSQL loop whose SELECT starts a new query each time
CREATE FUNCTION pg_temp.per_statement(n int, how text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    xs jsonb[]; ys jsonb[]; cs jsonb[]; ds jsonb[]; w float8;
BEGIN
    SELECT array_agg(x.j ORDER BY p.a, p.b), array_agg(y.j ORDER BY p.a, p.b),
           array_agg(to_jsonb(cx) ORDER BY p.a, p.b), array_agg(to_jsonb(cy) ORDER BY p.a, p.b)
      INTO xs, ys, cs, ds
      FROM (SELECT * FROM bench_small LIMIT n) p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b
      JOIN crm.contacts cx ON cx.id = p.a JOIN crm.contacts cy ON cy.id = p.b;
    FOR i IN 1..n LOOP
        IF how = 'score_rows' THEN
            SELECT q.weight INTO w FROM crmdedup.score_rows('demo', xs[i], ys[i], false) q;
        ELSIF how = 'match_rows' THEN
            SELECT q.weight INTO w FROM crmdedup.match_rows('demo', cs[i], ds[i]) q;
        ELSE
            SELECT q.weight INTO w FROM bench_ref.match_rows_0_1('demo', cs[i], ds[i]) q;
        END IF;
    END LOOP;
END;
$$;

-- warm up (ICU transliterator, plans, caches)
SELECT count(*) FROM bench_small p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b,
       LATERAL crmdedup.score_rows('demo', x.j, y.j) s \g /dev/null

SELECT pg_temp.timed(m.method, m.ord, m.pairs, m.q, m.workers)
  FROM generate_series(1, 3) AS round,
       (VALUES
        ('join only (baseline)', 1, 100000, 0,
         'SELECT count(*) FROM bench_pairs p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b WHERE x.j IS NOT NULL AND y.j IS NOT NULL'),
        ('score_rows, explain => false', 2, 100000, 0,
         'SELECT sum(s.weight) FROM bench_pairs p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b, LATERAL crmdedup.score_rows(''demo'', x.j, y.j, false) s'),
        ('score_rows, explain => true', 3, 100000, 0,
         'SELECT sum(s.weight), count(s.explanation) FROM bench_pairs p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b, LATERAL crmdedup.score_rows(''demo'', x.j, y.j) s'),
        ('score_rows, false, 1 parallel worker', 4, 100000, 2,
         'SELECT sum(s.weight) FROM bench_pairs p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b, LATERAL crmdedup.score_rows(''demo'', x.j, y.j, false) s'),
        ('score_rows, explain => true (5k)', 5, 5000, 0,
         'SELECT sum(s.weight), count(s.explanation) FROM bench_small p JOIN bench_rows x ON x.id = p.a JOIN bench_rows y ON y.id = p.b, LATERAL crmdedup.score_rows(''demo'', x.j, y.j) s'),
        ('match_rows, new (5k)', 6, 5000, 0,
         'SELECT sum(r.weight) FROM bench_small p JOIN crm.contacts x ON x.id = p.a JOIN crm.contacts y ON y.id = p.b, LATERAL crmdedup.match_rows(''demo'', to_jsonb(x), to_jsonb(y)) r'),
        ('PL/pgSQL scoring of 0.1.0 (5k)', 7, 5000, 0,
         'SELECT sum(r.weight) FROM bench_small p JOIN crm.contacts x ON x.id = p.a JOIN crm.contacts y ON y.id = p.b, LATERAL bench_ref.match_rows_0_1(''demo'', to_jsonb(x), to_jsonb(y)) r'),
        ('one pair per statement: score_rows (2k)', 8, 2000, 0, 'SELECT pg_temp.per_statement(2000, ''score_rows'')'),
        ('one pair per statement: match_rows (2k)', 9, 2000, 0, 'SELECT pg_temp.per_statement(2000, ''match_rows'')'),
        ('one pair per statement: PL/pgSQL 0.1.0 (2k)', 10, 2000, 0, 'SELECT pg_temp.per_statement(2000, ''ref'')'))
       AS m(method, ord, pairs, workers, q)
 ORDER BY round, m.ord \g /dev/null

SELECT method, pairs, round(min(ms)::numeric, 1) AS best_ms,
       round((min(ms) * 1000 / pairs)::numeric, 2) AS us_per_pair,
       round((min(ms) * 1e6 / pairs)::numeric, 0) AS ns_per_pair
  FROM bench_times GROUP BY method, ord, pairs ORDER BY ord;

-- the reference and score_rows agree on these pairs too
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE abs(r.weight - s.weight) > 1e-9 OR r.explanation <> s.explanation) AS differ
  FROM bench_small p JOIN crm.contacts x ON x.id = p.a JOIN crm.contacts y ON y.id = p.b
  JOIN bench_rows bx ON bx.id = p.a JOIN bench_rows byy ON byy.id = p.b,
       LATERAL bench_ref.match_rows_0_1('demo', to_jsonb(x), to_jsonb(y)) r,
       LATERAL crmdedup.score_rows('demo', bx.j, byy.j) s;
