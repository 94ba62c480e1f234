-- Reports: candidate pairs, clusters that do not chain, summary, auto_merge.
SET extra_float_digits = 0;
SET client_min_messages = warning;

CREATE TABLE r_contacts (
    id int PRIMARY KEY,
    full_name text,
    phones text[],
    email text,
    created_at timestamptz
);
CREATE TABLE r_deals (id int PRIMARY KEY, contact_id int REFERENCES r_contacts, title text);
INSERT INTO r_contacts VALUES
-- one person, written three ways
(1, 'Петров Иван', '{"8 (912) 345-67-89"}', 'ivan.petrov@gmail.com', '2024-01-01'),
(2, 'Ivan Petrov', '{"+7 912 345 67 89"}', 'IvanPetrov+crm@googlemail.com', '2024-02-01'),
(3, 'Иван Петров', NULL, 'ivan.petrov@gmail.com', '2024-03-01'),
-- a chain: 11 ~ 12 share a phone, 12 ~ 13 share another; 11 and 13 share only a common name
(11, 'Anna Smirnova', '{"+7 903 100 00 01"}', NULL, '2024-01-05'),
(12, 'Anna Smirnova', '{"+7 903 100 00 01", "+7 905 777 66 55"}', NULL, '2024-01-06'),
(13, 'Anna Smirnova', '{"+7 905 777 66 55"}', NULL, '2024-01-07'),
-- different people
(21, 'Wang Xiaoming', '{"+86 138 0013 8000"}', 'wangxm@qq.com', '2024-01-01'),
(22, 'John Smith', '{"+1 212 555 0123"}', 'j.smith@outlook.com', '2024-01-01'),
(23, '王小明', '{"138 0013 8001"}', NULL, '2024-01-01');
-- 200 different people sharing one common name word: its block is too large for all pairs,
-- so it gives sorted-neighbourhood pairs only (phones far apart: clearly different people)
INSERT INTO r_contacts SELECT 100 + g, 'Person ' || g, ARRAY['+7 916 ' || (1000000 + 37 * g)], NULL, '2024-01-01'
  FROM generate_series(1, 200) g;
INSERT INTO r_deals VALUES (1, 3, 'deal'), (2, 3, 'another deal'), (3, 2, 'third');

SELECT crmdedup.create_profile('r_contacts', 'r_contacts',
    '{"region": "RU", "fields": {"full_name": "person_name", "phones": "phone", "email": "email"}}');
SELECT crmdedup.analyze('r_contacts');

-- every candidate pair once, with its score and reasons
SELECT a, b, round(score::numeric, 3) AS score, decision,
       (SELECT string_agg(f->>'field' || ': ' || (f->>'level'), ', ' ORDER BY f->>'field')
          FROM jsonb_array_elements(explanation->'fields') f WHERE (f->>'weight')::float8 > 0) AS reasons
  FROM crmdedup.find_duplicates('r_contacts', min_score => 0.01)
 WHERE a::int < 100 AND b::int < 100
 ORDER BY a, b;
-- the common word's block: at most one neighbour per row, not 19,900 pairs; none a duplicate
SELECT count(*) <= 200 AS windowed, count(*) FILTER (WHERE score >= 0.5) AS matched
  FROM crmdedup.find_duplicates('r_contacts', min_score => 0, explain => false)
 WHERE a::int > 100 AND b::int > 100;
SELECT count(*) = count(DISTINCT (a, b)) AS each_pair_once, bool_and(a < b) AS ordered
  FROM crmdedup.find_duplicates('r_contacts', min_score => 0, explain => false);

-- clusters: the chain 11 ~ 12 ~ 13 does not become one cluster
SELECT cluster_id, id, round(score::numeric, 3) AS score, is_survivor, suggested_survivor
  FROM crmdedup.clusters('r_contacts') ORDER BY cluster_id, id;
SELECT count(*) AS chain_members_in_one_cluster
  FROM crmdedup.clusters('r_contacts') WHERE id IN ('11', '12', '13')
 GROUP BY cluster_id ORDER BY 1 DESC LIMIT 1;
-- components of the strong pairs come from a union-find in C: smallest node of each
SELECT crmdedup.pair_components(7, '{5,2,6,3}', '{6,1,7,1}');
SELECT crmdedup.pair_components(0, '{}', '{}');
SELECT crmdedup.pair_components(2, '{1}', '{3}');
-- the C steps of a report: a row's blocking keys (the keys of blocking_keys(), hashed, each once)
SELECT bool_and(cardinality(crmdedup.report_row_keys(p.compiled, to_jsonb(c)))
                = (SELECT count(*) FROM crmdedup.blocking_keys(p.compiled, to_jsonb(c)))) AS same_keys,
       sum(cardinality(crmdedup.report_row_keys(p.compiled, to_jsonb(c)))) > 0 AS some_keys
  FROM crmdedup.profiles p, r_contacts c WHERE p.name = 'r_contacts';
SELECT crmdedup.report_row_keys('{"fields": [{"field": "n", "role": "person_name"}]}', '{"n": "  "}') AS blank,
       crmdedup.report_row_keys('{"fields": [{"field": "n", "role": "person_name"}]}', '{"x": 1}') AS missing,
       cardinality(crmdedup.report_row_keys('{"fields": [{"field": "n", "role": "person_name"}, {"field": "d", "role": "birth_date"}]}',
                                            '{"n": ["Ivan Petrov", {"value": "Petrov Ivan"}], "d": "1980-02-03"}')) AS name_and_date;
SELECT crmdedup.report_row_keys('[1, 2]', '{}');
SELECT crmdedup.report_row_keys('{"fields": [{"field": "p", "role": "phone", "region": "XX"}]}', '{"p": "123"}');
-- candidate pairs from keys (rn, h) and name order (rn, s): all pairs of a block up to the
-- cap, neighbours in name order in a larger block, one neighbour in a word-sound block (odd h);
-- numbered (n) in name order (here rn 9 comes first), a < b still row numbers
CREATE TABLE t_ranks (rn int4, s text);
INSERT INTO t_ranks SELECT g, 'name ' || (10 - g) FROM generate_series(1, 9) g;
CREATE TABLE t_keys (rn int4, h int8);
INSERT INTO t_keys VALUES (1, 10), (2, 10), (3, 10), (5, 30), (5, 30), (6, 30);
INSERT INTO t_keys SELECT g, 20 FROM generate_series(4, 9) g;
INSERT INTO t_keys SELECT g, 21 FROM generate_series(1, 4) g;
SELECT n, a, b FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 3) ORDER BY n;
SELECT * FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 1);
INSERT INTO t_keys VALUES (12, 99);
SELECT * FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 3);
SELECT * FROM crmdedup.report_block_pairs('t_ranks', 't_ranks', 3);
-- a cap whose blocks would give billions of pairs; rows not numbered 1..n (arrays are sized by n)
SELECT * FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 100000);
DELETE FROM t_keys WHERE rn = 12;
INSERT INTO t_ranks VALUES (2147483000, 'far');
SELECT * FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 3);
DELETE FROM t_ranks WHERE rn = 2147483000;
INSERT INTO t_ranks VALUES (3, 'again');
SELECT * FROM crmdedup.report_block_pairs('t_keys', 't_ranks', 3);
-- clustering scored pairs: the chain 1 ~ 2 ~ 3 with 1 and 3 known different splits; a pair
-- inside a component that no key found (4 - 6) is scored with score_rows
CREATE TABLE t_rows (rn int4, r jsonb);
INSERT INTO t_rows SELECT row_number() OVER (ORDER BY id), to_jsonb(c) FROM r_contacts c WHERE id IN (11, 12, 13, 1, 2, 3);
CREATE UNIQUE INDEX ON t_rows (rn);
CREATE TABLE t_scored (a int4, b int4, score float8);
INSERT INTO t_scored VALUES (1, 2, 0.95), (2, 3, 0.95), (1, 3, 0.05), (4, 5, 0.99), (5, 6, 0.97);
SELECT rn, center, round(score::numeric, 3) AS score
  FROM crmdedup.report_cluster('r_contacts', 't_rows', '{t_scored}', 0.9) ORDER BY rn;
SELECT * FROM crmdedup.report_cluster('r_contacts', 't_rows', '{t_scored}', 'NaN');
SELECT * FROM crmdedup.report_cluster('r_contacts', 't_rows', '{t_scored,NULL}', 0.9);
INSERT INTO t_scored VALUES (7, 8, 0.99);
SELECT * FROM crmdedup.report_cluster('r_contacts', 't_rows', '{t_scored}', 0.9);
DELETE FROM t_scored WHERE a = 7;
-- every pair inside the components: the one no key found (4 - 6) numbered, without a score
SELECT n, a, b, round(score::numeric, 3) AS score
  FROM crmdedup.report_missing_pairs('t_rows', '{t_scored}', 0.9) ORDER BY a, b;
-- the sorts of the C steps are bounded by work_mem and spill to temporary files beyond it,
-- and so are the arrays indexed by row number (paged to a temporary file beyond work_mem:
-- 40,000 rows at 64kB): the same results at the smallest work_mem as in memory (keys in
-- blocks of 2 to 40 rows, word-sound blocks, repeated keys; components of three rows with
-- a pair scored twice, and of six rows far apart joined by one pair, whose other pairs
-- are scored by report_cluster, and whose rows are in pages that were evicted)
CREATE TABLE t_big_ranks AS SELECT g AS rn, md5(g::text) AS s FROM generate_series(1, 40000) g;
CREATE TABLE t_big_keys AS
  SELECT g AS rn, (g % 10000) * 2 AS h FROM generate_series(1, 40000) g
  UNION ALL SELECT g, (g % 1000) * 2 + 1 FROM generate_series(1, 40000) g
  UNION ALL SELECT g, 50000 + (g % 20000) * 2 FROM generate_series(1, 40000) g;
CREATE TABLE t_big_rows AS SELECT g AS rn, '{}'::jsonb AS r FROM generate_series(1, 40000) g;
CREATE TABLE t_big_scored AS
  SELECT 3 * g - 2 AS a, 3 * g - 1 AS b, 0.95::float8 AS score FROM generate_series(1, 13333) g
  UNION ALL SELECT 3 * g - 1, 3 * g, 0.93 FROM generate_series(1, 13333) g
  UNION ALL SELECT 3 * g - 2, 3 * g, 0.5 + (g % 50) / 100.0 FROM generate_series(1, 13333) g
  UNION ALL SELECT 3 * g - 2, 3 * g - 1, 0.97 FROM generate_series(1, 13333, 7) g
  UNION ALL SELECT 3 * g - 2, 3 * (g + 6666) - 2, 0.99 FROM generate_series(1, 6666, 50) g;
SET work_mem = '64MB';
CREATE TEMP TABLE t_big_mem AS SELECT * FROM crmdedup.report_block_pairs('t_big_keys', 't_big_ranks', 3);
CREATE TEMP TABLE t_big_cmem AS SELECT * FROM crmdedup.report_cluster('r_contacts', 't_big_rows', '{t_big_scored}', 0.9);
CREATE TEMP TABLE t_big_imem AS SELECT * FROM crmdedup.report_missing_pairs('t_big_rows', '{t_big_scored}', 0.9);
SET work_mem = '64kB';
SET client_min_messages = debug1;
CREATE TEMP TABLE t_big_spill AS SELECT * FROM crmdedup.report_block_pairs('t_big_keys', 't_big_ranks', 3);
CREATE TEMP TABLE t_big_cspill AS SELECT * FROM crmdedup.report_cluster('r_contacts', 't_big_rows', '{t_big_scored}', 0.9);
CREATE TEMP TABLE t_big_ispill AS SELECT * FROM crmdedup.report_missing_pairs('t_big_rows', '{t_big_scored}', 0.9);
SET client_min_messages = warning;
RESET work_mem;
SELECT (SELECT count(*) FROM t_big_mem) AS pairs,
       (SELECT count(*) FROM (TABLE t_big_mem EXCEPT TABLE t_big_spill) x) + (SELECT count(*) FROM (TABLE t_big_spill EXCEPT TABLE t_big_mem) x) AS pair_diff,
       (SELECT count(*) FROM t_big_mem WHERE a >= b) AS unordered,
       (SELECT count(*) - count(DISTINCT (a, b)) FROM t_big_mem) AS repeated,
       (SELECT count(*) FROM t_big_cmem) AS clustered,
       (SELECT count(DISTINCT center) FROM t_big_cmem) AS centers,
       (SELECT count(*) FROM (TABLE t_big_cmem EXCEPT TABLE t_big_cspill) x) + (SELECT count(*) FROM (TABLE t_big_cspill EXCEPT TABLE t_big_cmem) x) AS cluster_diff,
       (SELECT count(*) FROM t_big_imem) AS inner_pairs,
       (SELECT count(n) FROM t_big_imem) AS inner_missing,
       (SELECT count(*) FROM (TABLE t_big_imem EXCEPT TABLE t_big_ispill) x) + (SELECT count(*) FROM (TABLE t_big_ispill EXCEPT TABLE t_big_imem) x) AS inner_diff;
-- the six-row components: two clusters each (the pairs no key found score 0 on empty rows)
SELECT count(*) AS members, count(DISTINCT center) AS centers
  FROM t_big_cspill WHERE rn IN (SELECT 3 * g - k FROM generate_series(1, 6666, 50) g, generate_series(0, 2) k
                                 UNION ALL SELECT 3 * (g + 6666) - k FROM generate_series(1, 6666, 50) g, generate_series(0, 2) k);
DROP TABLE t_big_ranks, t_big_keys, t_big_rows, t_big_scored, t_big_mem, t_big_spill, t_big_cmem, t_big_cspill, t_big_imem, t_big_ispill;
-- pairs (n, a, b) scored by ranges of n: the scores of score_rows() on the pairs' rows; a
-- pair whose row is missing is left out (with a NOTICE); with min_score a hopeless pair may get no score
CREATE TABLE t_pairs (n int4, a int4, b int4);
INSERT INTO t_pairs SELECT row_number() OVER (ORDER BY x.rn, y.rn), x.rn, y.rn FROM t_rows x, t_rows y WHERE x.rn < y.rn;
INSERT INTO t_pairs VALUES (100, 1, 77);
SELECT count(*) AS pairs,
       bool_and(s.score = (crmdedup.score_rows('r_contacts', x.r, y.r, false)).score) AS same_scores
  FROM t_pairs p
  JOIN (SELECT * FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 0, 6)
        UNION ALL SELECT * FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 6, 1000)) s USING (a, b)
  JOIN t_rows x ON x.rn = p.a JOIN t_rows y ON y.rn = p.b;
SELECT count(*) AS pairs, count(*) FILTER (WHERE score IS NULL) AS given_up,
       bool_and(score IS NULL OR score = (crmdedup.score_rows('r_contacts', x.r, y.r, false)).score) AS same_scores
  FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 0, 1000, 0.99) s
  JOIN t_rows x ON x.rn = s.a JOIN t_rows y ON y.rn = s.b;
SELECT count(*) FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 10, 5);
SELECT * FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 0, 10, 'NaN');
SELECT * FROM crmdedup.report_score_pairs('nope', 't_pairs', 't_rows', 0, 10);
SELECT * FROM crmdedup.report_score_pairs('r_contacts', 't_rows', 't_rows', 0, 10);
-- no pair is lost silently: one whose row is not there is counted in a NOTICE, and a null
-- row is an error, as in score_rows()
SET client_min_messages = notice;
SELECT count(*) FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 98, 100);
SET client_min_messages = warning;
UPDATE t_rows SET r = NULL WHERE rn = 2;
SELECT * FROM crmdedup.report_score_pairs('r_contacts', 't_pairs', 't_rows', 0, 10);
DROP TABLE t_ranks, t_keys, t_rows, t_scored, t_pairs;
-- the most_complete rule counts the fields that are not null, "" or []
SELECT crmdedup.filled_fields('{"a": null, "b": "", "c": [], "d": {}, "e": 0, "f": [null], "g": " "}') AS filled;
SELECT crmdedup.filled_fields('[1]');
-- survivor rules
SELECT DISTINCT suggested_survivor FROM crmdedup.clusters('r_contacts', survivor => 'oldest') WHERE id = '1';
SELECT DISTINCT suggested_survivor FROM crmdedup.clusters('r_contacts', survivor => 'newest') WHERE id = '1';
SELECT DISTINCT suggested_survivor FROM crmdedup.clusters('r_contacts', survivor => 'most_referenced') WHERE id = '1';
SELECT * FROM crmdedup.clusters('r_contacts', survivor => 'tallest');
SELECT * FROM crmdedup.clusters('r_contacts', survivor => 'oldest', survivor_column => 'nope');
SELECT * FROM crmdedup.find_duplicates('nope');
SELECT * FROM crmdedup.find_duplicates('r_contacts', block_cap => 1);

-- the numbers a manager asks for first
SELECT section, item, value FROM crmdedup.summary('r_contacts') ORDER BY section, item;

-- results can be kept and exported
CREATE TEMP TABLE kept AS SELECT * FROM crmdedup.clusters('r_contacts');
COPY (SELECT cluster_id, id FROM kept ORDER BY 1, 2) TO stdout WITH (FORMAT csv, HEADER);

-- a long report can be cancelled cleanly, and runs again afterwards
SET statement_timeout = '5ms';
SELECT count(*) FROM crmdedup.find_duplicates('r_contacts', min_score => 0) f, generate_series(1, 100000) g;
RESET statement_timeout;
SELECT count(*) > 0 AS runs_again FROM crmdedup.find_duplicates('r_contacts');
-- the parallel work tables live only inside the report's transaction
SELECT count(*) AS work_tables_left FROM pg_class WHERE relname LIKE 'cd\_work\_%';

-- auto_merge: a dry run changes nothing; the real run merges and can be undone
CALL crmdedup.auto_merge('r_contacts', min_score => 0.95, dry_run => true);
SELECT keep, losers, round(weakest::numeric, 3) AS weakest FROM pg_temp.cd_auto_merge_plan ORDER BY keep;
SELECT count(*) FROM r_contacts;
CALL crmdedup.auto_merge('r_contacts', min_score => 0.95, dry_run => false, survivor => 'most_referenced');
SELECT id, full_name FROM r_contacts WHERE id < 100 ORDER BY id;
SELECT contact_id, count(*) FROM r_deals GROUP BY 1 ORDER BY 1;
SELECT count(*) AS merges FROM crmdedup.merge_log WHERE tbl = 'r_contacts'::regclass;
CALL crmdedup.auto_merge('r_contacts', min_score => 0.2);

-- clean up (merge_log rows are undone first so the table can go)
DO $$
DECLARE m bigint;
BEGIN
  FOR m IN SELECT merge_id FROM crmdedup.merge_log WHERE tbl = 'r_contacts'::regclass ORDER BY merge_id DESC LOOP
    CALL crmdedup.unmerge(m);
  END LOOP;
END $$;
SELECT count(*) AS restored FROM r_contacts;
DELETE FROM crmdedup.merge_log WHERE tbl = 'r_contacts'::regclass;
SELECT setval(pg_get_serial_sequence('crmdedup.merge_log', 'merge_id'), 1, false) IS NOT NULL AS merge_ids_reset;
SELECT crmdedup.drop_profile('r_contacts');
DROP TABLE r_deals, r_contacts;

-- the scorer's term frequencies take at most work_mem x hash_mem_multiplier (the memory a
-- hash table gets) per profile: beyond it they are looked up one by one, within the same
-- budget; the scores and clusters are the same.  1,200 people, each in 2 to 5 rows: 3,200
-- terms, which weigh the pairs differently
CREATE TABLE r_terms (id int PRIMARY KEY, full_name text, city text);
INSERT INTO r_terms
  SELECT row_number() OVER (ORDER BY c, k),
         initcap(substr(translate(md5('f' || k % 500), '0123456789', 'ghijklmnop'), 1, 7)) || ' '
         || initcap(substr(translate(md5('l' || k), '0123456789', 'ghijklmnop'), 1, 9)),
         initcap(substr(translate(md5('c' || k % 300), '0123456789', 'ghijklmnop'), 1, 8))
    FROM generate_series(1, 1200) k, generate_series(1, 2 + k % 4) c;
SELECT crmdedup.create_profile('r_terms', 'r_terms', '{"fields": {"full_name": "person_name", "city": "city"}}');
SELECT crmdedup.analyze('r_terms');
SELECT count(*) AS terms, count(DISTINCT freq) AS frequencies FROM crmdedup.term_stats WHERE profile = 'r_terms';
-- rows id and id + 1200 are the same person
CREATE TEMP TABLE terms_all AS
  SELECT a.id, s.score FROM r_terms a JOIN r_terms b ON b.id = a.id + 1200 AND b.id <= 2400,
         crmdedup.score_rows('r_terms', to_jsonb(a), to_jsonb(b), false) s;
CREATE TEMP TABLE clusters_all AS SELECT * FROM crmdedup.clusters('r_terms');
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
SET client_min_messages = debug1;
CREATE TEMP TABLE terms_bounded AS
  SELECT a.id, s.score FROM r_terms a JOIN r_terms b ON b.id = a.id + 1200 AND b.id <= 2400,
         crmdedup.score_rows('r_terms', to_jsonb(a), to_jsonb(b), false) s;
SET client_min_messages = warning;
CREATE TEMP TABLE clusters_bounded AS SELECT * FROM crmdedup.clusters('r_terms');
RESET work_mem;
RESET hash_mem_multiplier;
SELECT count(*) AS pairs, count(DISTINCT x.score) AS scores,
       count(*) FILTER (WHERE x.score IS DISTINCT FROM y.score) AS differ
  FROM terms_all x JOIN terms_bounded y USING (id);
SELECT (SELECT count(*) FROM clusters_all) AS clustered,
       (SELECT count(*) FROM (SELECT * FROM clusters_all EXCEPT SELECT * FROM clusters_bounded) d)
     + (SELECT count(*) FROM (SELECT * FROM clusters_bounded EXCEPT SELECT * FROM clusters_all) d) AS differ;
SELECT crmdedup.drop_profile('r_terms');
DROP TABLE r_terms;
