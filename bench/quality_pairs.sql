-- bench/quality_pairs.sql: profiles, term statistics, blocking candidates, and their features.
-- Run from bench/quality.sql (needs q.setup, q.blocking, q.trgm_rule; psql variable :cap).
\set ON_ERROR_STOP 1

-- 1. the profiles, as a user creates them, and their term frequencies
SELECT count(crmdedup.create_profile(ds, format('q.%I', ds)::regclass, spec)) AS profiles FROM q.setup;
SELECT string_agg(ds || ' ' || crmdedup.analyze(ds), ', ' ORDER BY ord) AS "analyzed (rows)" FROM q.setup;
-- m, u and the prior estimated from each table by crmdedup itself (EM; no answers read)
SELECT ds AS dataset, e->'prior' AS prior, e->'duplicate_share_of_candidates' AS "dup share of candidates",
       e->'candidate_pairs' AS candidates, e->'iterations' AS iterations, e->'rejected' AS rejected
  FROM (SELECT ds, ord, crmdedup.estimate(ds) AS e FROM q.setup) s ORDER BY ord;
-- the frequencies again, with the estimated weights: a company word is counted once per group of
-- names those weights call the same company (README, Match profiles: analyze())
SELECT string_agg(ds || ' ' || crmdedup.analyze(ds), ', ' ORDER BY ord) AS "analyzed again (rows)" FROM q.setup;

-- 2. records collapsed by the values the profile compares: rows whose compared fields are all equal
--    get one value id (vid); a pair of vids is scored once and its score holds for all their rows.
CREATE TABLE q.rec (ds text, id int, vid int, PRIMARY KEY (ds, id));
CREATE TABLE q.val (ds text, vid int, row jsonb, n int, PRIMARY KEY (ds, vid));
DO $$
DECLARE s record;
BEGIN
    FOR s IN SELECT * FROM q.setup ORDER BY ord LOOP
        EXECUTE format($f$
            CREATE TEMP TABLE fv ON COMMIT DROP AS
            SELECT t.id, (SELECT jsonb_object_agg(k, to_jsonb(t) -> k) FROM jsonb_object_keys($1) k) AS v
              FROM q.%I t;
            INSERT INTO q.rec SELECT $2, id, dense_rank() OVER (ORDER BY v) FROM fv;
            INSERT INTO q.val
            SELECT $2, r.vid, min(fv.v::text)::jsonb || jsonb_build_object('id', min(r.id)), count(*)
              FROM q.rec r JOIN fv ON fv.id = r.id AND r.ds = $2 GROUP BY r.vid;
            DROP TABLE fv;
        $f$, s.ds) USING s.spec -> 'fields', s.ds;
    END LOOP;
END $$;

-- 3. blocking keys; a key shared by more than :cap distinct value ids is skipped
CREATE TABLE q.bkey (ds text, name text, key text, id int);
DO $$
DECLARE b record;
BEGIN
    FOR b IN SELECT * FROM q.blocking LOOP
        EXECUTE format('INSERT INTO q.bkey SELECT %L, %L, k, r.id FROM q.%I r, unnest(%s) k
                         WHERE k IS NOT NULL AND k <> ''''', b.ds, b.name, b.ds, b.expr);
    END LOOP;
END $$;
CREATE TABLE q.block AS
SELECT k.ds, k.name, k.key, array_agg(DISTINCT r.vid) AS vids
  FROM q.bkey k JOIN q.rec r USING (ds, id)
 GROUP BY 1, 2, 3;
CREATE TABLE q.block_stats AS
SELECT b.ds, b.name, count(*) AS keys,
       count(*) FILTER (WHERE cardinality(b.vids) > :cap AND NOT bl.star) AS skipped,
       count(*) FILTER (WHERE cardinality(b.vids) > :cap AND bl.star) AS stars
  FROM q.block b JOIN q.blocking bl USING (ds, name) GROUP BY 1, 2;
-- a star key's block over the cap: a star from its most common value id (held by the most records;
-- ties: the smallest) to the others: the most common spelling is the likeliest to be the canonical one
CREATE TABLE q.star AS
SELECT b.ds, b.name, b.key,
       (SELECT v.vid FROM q.val v WHERE v.ds = b.ds AND v.vid = ANY (b.vids) ORDER BY v.n DESC, v.vid LIMIT 1) AS rep,
       b.vids
  FROM q.block b JOIN q.blocking bl USING (ds, name)
 WHERE bl.star AND cardinality(b.vids) > :cap;
DELETE FROM q.block WHERE cardinality(vids) > :cap OR cardinality(vids) < 2;

-- candidate pairs of value ids (va < vb), and va = vb for rows with identical compared values
CREATE TABLE q.vpair (ds text, va int, vb int, score float8, weight float8, expl jsonb, PRIMARY KEY (ds, va, vb));
INSERT INTO q.vpair (ds, va, vb)
SELECT DISTINCT b.ds, x, y FROM q.block b, unnest(b.vids) x, unnest(b.vids) y WHERE x < y
UNION
SELECT s.ds, least(s.rep, v), greatest(s.rep, v) FROM q.star s, unnest(s.vids) v WHERE v <> s.rep
UNION
SELECT ds, vid, vid FROM q.val WHERE n > 1;

-- the candidate record pairs (a < b) they stand for
CREATE TABLE q.cand (ds text, a int, b int, va int, vb int, PRIMARY KEY (ds, a, b));
INSERT INTO q.cand
SELECT p.ds, least(ra.id, rb.id), greatest(ra.id, rb.id), p.va, p.vb
  FROM q.vpair p JOIN q.rec ra ON ra.ds = p.ds AND ra.vid = p.va JOIN q.rec rb ON rb.ds = p.ds AND rb.vid = p.vb
 WHERE ra.id <> rb.id AND (p.va <> p.vb OR ra.id < rb.id);
ANALYZE q.rec; ANALYZE q.val; ANALYZE q.vpair; ANALYZE q.cand;
SELECT ds, count(*) AS value_pairs FROM q.vpair GROUP BY ds ORDER BY ds;

-- 4. the pg_trgm rule's features for the same candidate record pairs
CREATE TABLE q.trgm (ds text, a int, b int, exact bool, name_sim float4, other_exact bool, other_sim float4,
    PRIMARY KEY (ds, a, b));
DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT * FROM q.trgm_rule LOOP
        EXECUTE format('INSERT INTO q.trgm
            SELECT c.ds, c.a, c.b, coalesce(%s, false), coalesce(%s, 0), coalesce(%s, false), coalesce(%s, 0)
              FROM q.cand c JOIN q.%I a ON a.id = c.a JOIN q.%I b ON b.id = c.b WHERE c.ds = %L',
            t.exact, t.name_sim, t.other_exact, t.other_sim, t.ds, t.ds, t.ds);
    END LOOP;
END $$;
