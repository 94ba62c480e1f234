-- bench/quality_em.sql: export the comparison vectors of some bench/quality datasets, for
-- bench/quality_em.py to replay crmdedup.estimate()'s EM and the scorer offline with variants of
-- the model (issue 3: Fodors-Zagat's "same place, different entity" pairs).  Not a test.
--
-- Run by bench/quality when QUALITY_EM=path is set (every dataset), or by hand against its
-- database (psql variable :datasets, a comma-separated list of q.setup's ds):
--   QUALITY_CLUSTERS=0 QUALITY_EM=/tmp/em.jsonl ./bench/quality
--   python3 bench/quality_em.py /tmp/em.jsonl ['{"unrelated": 0.35, "cond": ["phone", "city"]}' ...]
-- One JSON object a line:
--   {"ds", "head": true, "rows", "true_pairs", "same", "spec_fields"}: the dataset, its default
--      levels (compile_profile_spec: what estimate() starts from)
--   {"ds", "k", "t", "f"}: one pair; k = "bench" (bench/quality's candidates, t = a true pair),
--      "cand" (the candidates estimate() finds: the reports' blocking keys, block cap 100) or
--      "rand" (estimate()'s random pairs, drawn by the same hash); f = per compiled field
--      [role, level, best similarity, u the scorer used, whether that u was the field's u_same_place] (null similarity: a value is missing)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;

CREATE TEMP TABLE em_ds AS SELECT unnest(string_to_array(:'datasets', ',')) AS ds;
CREATE TEMP TABLE em_pair (ds text, k text, t boolean, expl jsonb);

DO $$
DECLARE
    d text;
    c jsonb;
    n bigint;
BEGIN
    FOR d IN SELECT ds FROM em_ds LOOP
        SELECT compiled INTO c FROM crmdedup.profiles WHERE name = d;
        EXECUTE 'CREATE TEMP TABLE em_rows AS SELECT row_number() OVER (ORDER BY s.id) AS rn, s.r FROM ('
                || crmdedup.report_rows_sql(d) || ') s';
        n := (SELECT count(*) FROM em_rows);
        CREATE TEMP TABLE em_keys AS SELECT r.rn, k.k AS key FROM em_rows r, crmdedup.blocking_keys(c, r.r) AS k(k);
        INSERT INTO em_pair
        SELECT d, 'cand', NULL, s.explanation
          FROM (SELECT DISTINCT x, y
                  FROM (SELECT array_agg(rn) AS ids FROM em_keys GROUP BY key HAVING count(*) BETWEEN 2 AND 100) g,
                       unnest(g.ids) x, unnest(g.ids) y
                 WHERE x < y) p
          JOIN em_rows ra ON ra.rn = p.x JOIN em_rows rb ON rb.rn = p.y,
               LATERAL crmdedup.score_rows(d, ra.r, rb.r, true) s;
        -- estimate()'s random pairs (every pair of a table of at most 20,000 pairs)
        INSERT INTO em_pair
        SELECT d, 'rand', NULL, s.explanation
          FROM (SELECT x, y FROM generate_series(1, n) x, generate_series(1, n) y
                 WHERE x < y AND n * (n - 1) / 2 <= 20000
                UNION ALL
                SELECT least(x, y), greatest(x, y)
                  FROM (SELECT 1 + abs(hashint8(2 * i::bigint)::bigint) % n AS x,
                               1 + abs(hashint8(2 * i::bigint + 1)::bigint) % n AS y
                          FROM generate_series(1, 20000) i) s0
                 WHERE x <> y AND n * (n - 1) / 2 > 20000) p
          JOIN em_rows ra ON ra.rn = p.x JOIN em_rows rb ON rb.rn = p.y,
               LATERAL crmdedup.score_rows(d, ra.r, rb.r, true) s;
        DROP TABLE em_rows, em_keys;
    END LOOP;
END $$;

INSERT INTO em_pair
SELECT c.ds, 'bench', t.a IS NOT NULL, p.expl
  FROM q.cand c JOIN em_ds USING (ds)
  JOIN q.vpair p USING (ds, va, vb)
  LEFT JOIN q.truth_pair t ON t.ds = c.ds AND t.a = c.a AND t.b = c.b;

SELECT json_build_object('ds', d.ds, 'head', true,
                         'rows', (SELECT count(*) FROM q.rec r WHERE r.ds = d.ds),
                         'true_pairs', (SELECT count(*) FROM q.truth_pair t WHERE t.ds = d.ds),
                         'same', (pr.compiled->>'same')::float8,
                         'spec_fields', crmdedup.compile_profile_spec(pr.table_oid, pr.spec)->'fields')
  FROM em_ds d JOIN crmdedup.profiles pr ON pr.name = d.ds;
SELECT json_build_object('ds', ds, 'k', k, 't', t,
                         'f', (SELECT json_agg(json_build_array(fe->>'role', fe->>'level', (fe->>'similarity')::float8,
                                                                (fe->>'u')::float8, fe ? 'same_place_as') ORDER BY o)
                                 FROM jsonb_array_elements(expl->'fields') WITH ORDINALITY AS x(fe, o)))
  FROM em_pair;
