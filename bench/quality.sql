-- bench/quality.sql: precision, recall and F1 of crmdedup's predicted duplicate pairs against the
-- datasets' answers, next to the best pg_trgm rule on the same candidate pairs; then the
-- cross-script word pairs of Wikidata.  Run by bench/quality after quality_load.sql,
-- quality_setup.sql, quality_pairs.sql and quality_score.sql.  Not a test: it prints numbers.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\pset footer off
\pset null '-'

-- the records each evaluated set covers (patstat_rest: patstat without its largest entity)
CREATE TEMP TABLE eval_rec AS
SELECT e.eval_ds, r.ds, r.id FROM q.evalset e JOIN q.rec r ON r.ds = e.ds
 WHERE e.eval_ds = e.ds
    OR r.id IN (SELECT t.id FROM q.truth_entity t WHERE t.ds = e.eval_ds);
CREATE INDEX ON eval_rec (ds, id);

-- every candidate record pair of each evaluated set with its crmdedup score and pg_trgm features
CREATE TEMP TABLE pred AS
SELECT e.eval_ds, c.a, c.b, p.score, p.weight, t.exact, t.name_sim, t.other_exact, t.other_sim,
       (tp.a IS NOT NULL) AS truth
  FROM q.evalset e
  JOIN q.cand c ON c.ds = e.ds
  JOIN eval_rec ra ON ra.eval_ds = e.eval_ds AND ra.ds = c.ds AND ra.id = c.a
  JOIN eval_rec rb ON rb.eval_ds = e.eval_ds AND rb.ds = c.ds AND rb.id = c.b
  JOIN q.vpair p ON p.ds = c.ds AND p.va = c.va AND p.vb = c.vb
  JOIN q.trgm t ON t.ds = c.ds AND t.a = c.a AND t.b = c.b
  LEFT JOIN q.truth_pair tp ON tp.ds = e.eval_ds AND tp.a = c.a AND tp.b = c.b;

-- trgm_t: the largest t at which the pg_trgm rule calls the pair a duplicate
-- (exact OR (name_sim >= t AND (other_exact OR other_sim >= t)) holds exactly for t <= trgm_t)
ALTER TABLE pred ADD COLUMN trgm_t float8;
UPDATE pred SET trgm_t = CASE WHEN exact THEN 'Infinity'
                              ELSE least(name_sim, CASE WHEN other_exact THEN 'Infinity' ELSE other_sim END) END;

-- pairs of two records of one star (a star key's block over the cap, joined to its most common
-- value only): predicted when both records' pairs with that record are, by either method,
-- so their score, weight and trgm_t are the lesser of those two pairs' (a pair that is also a
-- candidate itself keeps the greater of the two ways)
CREATE INDEX ON pred (eval_ds, a, b);
ANALYZE pred;
CREATE TEMP TABLE star_rec AS
SELECT s.ds, s.name, s.key, r.id,
       (SELECT min(r2.id) FROM q.rec r2 WHERE r2.ds = s.ds AND r2.vid = s.rep) AS rep_id
  FROM q.star s JOIN q.rec r ON r.ds = s.ds AND r.vid = ANY (s.vids);
ANALYZE star_rec;
CREATE TEMP TABLE implied AS
SELECT e.eval_ds, x.id AS a, y.id AS b, max(least(p1.score, p2.score)) AS score,
       max(least(p1.weight, p2.weight)) AS weight, max(least(p1.trgm_t, p2.trgm_t)) AS trgm_t
  FROM q.evalset e
  JOIN star_rec x ON x.ds = e.ds
  JOIN star_rec y ON y.ds = x.ds AND y.name = x.name AND y.key = x.key AND x.id < y.id
  JOIN eval_rec ra ON ra.eval_ds = e.eval_ds AND ra.ds = e.ds AND ra.id = x.id
  JOIN eval_rec rb ON rb.eval_ds = e.eval_ds AND rb.ds = e.ds AND rb.id = y.id
  JOIN pred p1 ON p1.eval_ds = e.ds AND p1.a = least(x.rep_id, x.id) AND p1.b = greatest(x.rep_id, x.id)
  JOIN pred p2 ON p2.eval_ds = e.ds AND p2.a = least(y.rep_id, y.id) AND p2.b = greatest(y.rep_id, y.id)
 WHERE x.id <> x.rep_id AND y.id <> y.rep_id
 GROUP BY 1, 2, 3;
UPDATE pred p SET score = greatest(p.score, i.score), weight = greatest(p.weight, i.weight),
                  trgm_t = greatest(p.trgm_t, i.trgm_t)
  FROM implied i WHERE i.eval_ds = p.eval_ds AND i.a = p.a AND i.b = p.b;
INSERT INTO pred (eval_ds, a, b, score, weight, trgm_t, truth)
SELECT i.eval_ds, i.a, i.b, i.score, i.weight, i.trgm_t, tp.a IS NOT NULL
  FROM implied i LEFT JOIN q.truth_pair tp ON tp.ds = i.eval_ds AND tp.a = i.a AND tp.b = i.b
 WHERE NOT EXISTS (SELECT 1 FROM pred p WHERE p.eval_ds = i.eval_ds AND p.a = i.a AND p.b = i.b);

SELECT count(*) AS unscored FROM pred WHERE score IS NULL \gset
\if :unscored
\echo 'ERROR: candidate pairs left unscored:' :unscored
\quit
\endif

CREATE TEMP TABLE base AS
SELECT e.eval_ds, e.ord, e.label,
       (SELECT count(*) FROM eval_rec r WHERE r.eval_ds = e.eval_ds) AS records,
       (SELECT count(*) FROM q.truth_pair t WHERE t.ds = e.eval_ds) AS true_pairs,
       (SELECT count(*) FROM pred p WHERE p.eval_ds = e.eval_ds) AS cand,
       (SELECT count(*) FROM pred p WHERE p.eval_ds = e.eval_ds AND p.truth) AS cand_true,
       (SELECT (compiled->>'same')::float8 FROM crmdedup.profiles WHERE name = e.ds) AS same
  FROM q.evalset e;

CREATE FUNCTION pg_temp.prf(tp bigint, pp bigint, truth bigint, OUT p numeric, OUT r numeric, OUT f1 numeric)
LANGUAGE sql IMMUTABLE
AS $$ SELECT round(tp::numeric / nullif(pp, 0), 3), round(tp::numeric / nullif(truth, 0), 3),
             round(2 * tp::numeric / nullif(pp + truth, 0), 3) $$;

-- crmdedup at the profile's own threshold ("same", default 0.9)
CREATE TEMP TABLE cd_default AS
SELECT b.eval_ds, m.*
  FROM base b,
       LATERAL (SELECT count(*) FILTER (WHERE p.score >= b.same AND p.truth) AS tp,
                       count(*) FILTER (WHERE p.score >= b.same) AS pp
                  FROM pred p WHERE p.eval_ds = b.eval_ds) c,
       LATERAL pg_temp.prf(c.tp, c.pp, b.true_pairs) m;

-- crmdedup at the best threshold of a scan chosen on the answers: match weight -30..40 bits in
-- steps of 1 (score = 1 / (1 + 2^-weight), so 0 bits = 0.5, 3.17 bits = 0.9)
CREATE TEMP TABLE cd_best AS
SELECT DISTINCT ON (b.eval_ds) b.eval_ds, g AS w, 1 / (1 + power(2::float8, -g)) AS score_min, m.*
  FROM base b, generate_series(-30, 40) g,
       LATERAL (SELECT count(*) FILTER (WHERE p.weight >= g AND p.truth) AS tp,
                       count(*) FILTER (WHERE p.weight >= g) AS pp
                  FROM pred p WHERE p.eval_ds = b.eval_ds) c,
       LATERAL pg_temp.prf(c.tp, c.pp, b.true_pairs) m
 ORDER BY b.eval_ds, m.f1 DESC NULLS LAST, g DESC;	-- ties: the stricter threshold

-- the pg_trgm rule at its best t in 0.30..0.90 (chosen on the answers)
CREATE TEMP TABLE trgm_best AS
SELECT DISTINCT ON (b.eval_ds) b.eval_ds, t, m.*
  FROM base b, generate_series(0.30, 0.90, 0.05) t,
       LATERAL (SELECT count(*) FILTER (WHERE d AND p.truth) AS tp, count(*) FILTER (WHERE d) AS pp
                  FROM pred p, LATERAL (SELECT p.trgm_t >= t) x(d)
                 WHERE p.eval_ds = b.eval_ds) c,
       LATERAL pg_temp.prf(c.tp, c.pp, b.true_pairs) m
 ORDER BY b.eval_ds, m.f1 DESC NULLS LAST, t DESC;

\if :clusters
-- issue 6: pairs within the clusters crmdedup.clusters() reports on each table (its own blocking
-- keys and block cap, the profile's "same" threshold, average-linkage splitting), against the answers
CREATE TEMP TABLE cl_member (ds text, cluster_id text, id int);
CREATE TEMP TABLE cl_time (ds text, secs numeric);
DO $$
DECLARE s record; t0 timestamptz;
BEGIN
    FOR s IN SELECT ds FROM q.setup ORDER BY ord LOOP
        t0 := clock_timestamp();
        INSERT INTO cl_member SELECT s.ds, c.cluster_id, c.id::int FROM crmdedup.clusters(s.ds) c;
        INSERT INTO cl_time VALUES (s.ds, round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1));
    END LOOP;
END $$;
CREATE TEMP TABLE cl_pair AS
SELECT e.eval_ds, x.id AS a, y.id AS b
  FROM q.evalset e
  JOIN cl_member x ON x.ds = e.ds
  JOIN cl_member y ON y.ds = x.ds AND y.cluster_id = x.cluster_id AND x.id < y.id
  JOIN eval_rec ra ON ra.eval_ds = e.eval_ds AND ra.ds = e.ds AND ra.id = x.id
  JOIN eval_rec rb ON rb.eval_ds = e.eval_ds AND rb.ds = e.ds AND rb.id = y.id;
CREATE TEMP TABLE cl_eval AS
SELECT b.eval_ds, (SELECT count(*) FROM cl_pair c WHERE c.eval_ds = b.eval_ds) AS pp, m.*
  FROM base b,
       LATERAL (SELECT count(*) AS tp FROM cl_pair c JOIN q.truth_pair t ON t.ds = c.eval_ds AND t.a = c.a AND t.b = c.b
                 WHERE c.eval_ds = b.eval_ds) c,
       LATERAL pg_temp.prf(c.tp, (SELECT count(*) FROM cl_pair c WHERE c.eval_ds = b.eval_ds), b.true_pairs) m;
\endif

\echo
\echo '== blocking: candidate pairs per key (a key shared by more than' :cap 'distinct records-by-value is skipped)'
SELECT s.ds AS dataset, s.name AS "key", s.keys, s.skipped AS "skipped (too common)", s.stars AS "stars (exact key)"
  FROM q.block_stats s JOIN q.setup u USING (ds) ORDER BY u.ord, s.name;

\echo
\echo '== crmdedup fields on the candidate pairs: observed share of true pairs per level vs the profile''s m'
\echo '   ("true": true duplicate pairs among candidates; "other": the remaining candidates, i.e. hard non-matches;'
\echo '   shares among the pairs with both values present, "missing" as a share of all; weight: mean over true pairs)'
WITH vp AS (
    SELECT c.ds, c.va, c.vb, count(*) FILTER (WHERE t.a IS NOT NULL) AS n_true, count(*) FILTER (WHERE t.a IS NULL) AS n_other
      FROM q.cand c LEFT JOIN q.truth_pair t ON t.ds = c.ds AND t.a = c.a AND t.b = c.b
     GROUP BY 1, 2, 3),
f AS (
    SELECT vp.ds, fe->>'field' AS field, fe->>'role' AS role, fe->>'level' AS level, (fe->>'weight')::float8 AS w,
           vp.n_true, vp.n_other
      FROM vp JOIN q.vpair p USING (ds, va, vb), jsonb_array_elements(p.expl->'fields') fe),
cfg AS (
    SELECT pr.name AS ds, fl->>'field' AS field, lv->>'level' AS level, (lv->>'m')::float8 AS m, o AS lord
      FROM crmdedup.profiles pr, jsonb_array_elements(pr.compiled->'fields') fl,
           jsonb_array_elements(fl->'levels') WITH ORDINALITY AS l(lv, o)
    UNION ALL
    SELECT pr.name, fl->>'field', 'different',
           1 - (SELECT sum((lv->>'m')::float8) FROM jsonb_array_elements(fl->'levels') lv), 99
      FROM crmdedup.profiles pr, jsonb_array_elements(pr.compiled->'fields') fl),
agg AS (
    SELECT ds, field, role, level,
           sum(n_true) AS n_true, sum(n_other) AS n_other,
           sum(w * n_true) / nullif(sum(n_true), 0) AS w_true
      FROM f GROUP BY 1, 2, 3, 4)
SELECT a.ds AS dataset, a.field, a.role, a.level,
       -- a level's share among the pairs where both values are present; "missing": share of all pairs
       round(a.n_true / nullif(CASE WHEN a.level = 'missing' THEN sum(a.n_true) OVER w
                                    ELSE sum(a.n_true) FILTER (WHERE a.level <> 'missing') OVER w END, 0), 3) AS "true share",
       round(c.m::numeric, 3) AS "profile m",
       round(a.n_other / nullif(CASE WHEN a.level = 'missing' THEN sum(a.n_other) OVER w
                                     ELSE sum(a.n_other) FILTER (WHERE a.level <> 'missing') OVER w END, 0), 3) AS "other share",
       round(a.w_true::numeric, 2) AS weight
  FROM agg a JOIN q.setup u ON u.ds = a.ds
  LEFT JOIN cfg c ON c.ds = a.ds AND c.field = a.field AND c.level = a.level
WINDOW w AS (PARTITION BY a.ds, a.field)
 ORDER BY u.ord, a.field, coalesce(c.lord, 100);

\echo
\echo '== pg_trgm rules (each scanned over t = 0.30..0.90 on the same candidates)'
SELECT r.ds AS dataset, r.note AS "rule: duplicate when" FROM q.trgm_rule r JOIN q.setup u USING (ds) ORDER BY u.ord;

\echo
\echo '== Wikidata cross-script name words: 5,000 true pairs per script (ORDER BY md5), and as many'
\echo '   shuffled false pairs (the native word of one row with the Latin word of the next)'
CREATE TEMP TABLE wd AS
SELECT script, latin, native, rn FROM (
    SELECT w.*, row_number() OVER (PARTITION BY script ORDER BY md5(w.latin || '|' || w.native), w.latin) AS rn
      FROM q.wikidata w) s
 WHERE rn <= 5000;
CREATE TEMP TABLE wd_pairs AS
SELECT script, 'true' AS kind, native AS a, latin AS b FROM wd
UNION ALL
SELECT x.script, 'false', x.native, y.latin
  FROM wd x JOIN wd y ON y.script = x.script AND y.rn = x.rn % 5000 + 1
 WHERE lower(y.latin) <> lower(x.latin);
SELECT script, kind AS pairs, count(*) AS n,
       round(avg((crmdedup.name_similarity(a, b) >= 0.9)::int), 3) AS "name_similarity>=0.9",
       round(avg(coalesce(crmdedup.phonetic(a) = crmdedup.phonetic(b), false)::int), 3) AS "phonetic equal",
       round(avg(coalesce(crmdedup.translit(a) = lower(b), false)::int), 3) AS "translit(a)=lower(b)",
       round(avg(coalesce(crmdedup.translit(a) = crmdedup.translit(b), false)::int), 3) AS "translit(a)=translit(b)",
       round(avg((similarity(a, b) >= 0.5)::int), 3) AS "pg_trgm sim>=0.5"
  FROM wd_pairs GROUP BY script, kind ORDER BY script, kind DESC;
\echo '   a = Cyrillic or Han word, b = the Latin word of Wikidata (may carry diacritics, e.g. jōhō)'
\echo '   the goal''s form: the best recall of name_similarity >= t (t = 0.50..1.00 by 0.05) whose precision'
\echo '   on these true and false pairs is at least 0.95'
WITH s AS (SELECT script, kind, crmdedup.name_similarity(a, b) AS sim FROM wd_pairs),
g AS (SELECT s.script, t, count(*) FILTER (WHERE kind = 'true' AND sim >= t) AS tp,
             count(*) FILTER (WHERE kind = 'false' AND sim >= t) AS fp,
             count(*) FILTER (WHERE kind = 'true') AS pos
        FROM s, generate_series(0.50, 1.00, 0.05) t GROUP BY s.script, t)
SELECT DISTINCT ON (script) script, t AS "best t", round(tp::numeric / pos, 3) AS recall,
       round(tp::numeric / nullif(tp + fp, 0), 3) AS precision
  FROM g WHERE tp::numeric / nullif(tp + fp, 0) >= 0.95
 ORDER BY script, tp DESC, t DESC;

\echo
\echo '== Results: predicted duplicate pairs vs the answers (P precision, R recall, F1)'
\echo '   cand: candidate pairs from blocking (the SAME candidates for crmdedup and for the pg_trgm rule), and the'
\echo '   pairs within a star (an exact key or company word shared by more records than the cap), each predicted'
\echo '   when both its records'' pairs with the star''s most common value are predicted, by either method;'
\echo '   block R: true pairs among candidates / true pairs (an upper bound on R for both)'
\echo '   crmdedup @default: match_rows decision "same" (score >= the profile''s default 0.9), default levels, no tuning'
\echo '   crmdedup @best: best threshold of a scan over the match weight (-30..40 bits), CHOSEN ON THE ANSWERS'
\echo '   pg_trgm @best t: the DBA rule at its best t in 0.30..0.90, CHOSEN ON THE ANSWERS'
\echo '   "-": no pair predicted.  patstat: pairwise, no transitive closure (but within a star, above); one entity holds'
\echo '   78% of its pairs, so the'
\echo '   row without it (same predictions, its records left out) is the fairer one (see its SOURCE.md)'
SELECT b.label AS dataset, b.records, b.true_pairs AS "true pairs", b.cand AS "cand",
       round(b.cand_true::numeric / nullif(b.true_pairs, 0), 3) AS "block R",
       d.p AS "cd P", d.r AS "cd R", d.f1 AS "cd F1",
       x.p AS "best P", x.r AS "best R", x.f1 AS "best F1",
       format('%s (%s bits)', CASE WHEN x.score_min >= 0.9999 THEN '1-' || btrim(to_char(1 - x.score_min, '9.9EEEE'))
                                   WHEN x.score_min < 0.001 THEN btrim(to_char(x.score_min, '9.9EEEE'))
                                   ELSE round(x.score_min::numeric, 4)::text END, x.w) AS "best at score>=",
       g.p AS "trgm P", g.r AS "trgm R", g.f1 AS "trgm F1", g.t AS "trgm t"
  FROM base b JOIN cd_default d USING (eval_ds) JOIN cd_best x USING (eval_ds) JOIN trgm_best g USING (eval_ds)
 ORDER BY b.ord;

\if :clusters
\echo
\echo '== Pairs from clusters (issue 6): crmdedup.clusters(profile) on each table (its own blocking keys,'
\echo '   its default block cap of 20, the profile''s "same" threshold); every pair of records within a cluster is predicted'
SELECT b.label AS dataset, b.true_pairs AS "true pairs", c.pp AS "pairs in clusters",
       c.p AS "cl P", c.r AS "cl R", c.f1 AS "cl F1", d.f1 AS "pairwise F1 (above)", t.secs AS "clusters() s"
  FROM base b JOIN cl_eval c USING (eval_ds) JOIN cd_default d USING (eval_ds)
  LEFT JOIN cl_time t ON t.ds = b.eval_ds
 ORDER BY b.ord;
\endif
