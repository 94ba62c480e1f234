-- The %~ operator ("may be the same name") and the GIN opclass crmdedup.name_ops:
-- candidates across scripts, the same rows with and without the index.
SET extra_float_digits = 0;
SET search_path = public, crmdedup;
SET client_min_messages = warning;

-- a few thousand names, generated deterministically: Russian in Cyrillic (male and female
-- forms, with and without patronymics, both word orders), Russian and English in Latin
-- letters, Chinese in Han characters and in pinyin
CREATE TABLE people (id int PRIMARY KEY, name text);
INSERT INTO people
SELECT row_number() OVER (ORDER BY src, a, b, c), name FROM (
    -- Russian men: 12 surnames x 10 given names x (none + 3 patronymics) x 2 orders
    SELECT 1 AS src, s AS a, g AS b, p * 2 + o AS c,
           CASE WHEN o = 0 THEN sur[s] || ' ' || giv[g] ELSE giv[g] || ' ' || sur[s] END
           || CASE WHEN p = 0 THEN '' ELSE ' ' || pat[p] END AS name
      FROM (SELECT ARRAY['Петров','Иванов','Сидоров','Щукин','Смирнов','Кузнецов','Попов',
                         'Харитонов','Соколов','Лебедев','Новиков','Морозов'] AS sur,
                   ARRAY['Иван','Пётр','Сергей','Алексей','Александр','Дмитрий','Михаил',
                         'Юрий','Евгений','Андрей'] AS giv,
                   ARRAY['Иванович','Петрович','Сергеевич'] AS pat) arr,
           generate_series(1, 12) s, generate_series(1, 10) g, generate_series(0, 3) p,
           generate_series(0, 1) o
    UNION ALL
    -- Russian women: 12 surnames (female forms) x 8 given names x (none + 2 patronymics)
    SELECT 2, s, g, p,
           sur[s] || ' ' || giv[g] || CASE WHEN p = 0 THEN '' ELSE ' ' || pat[p] END
      FROM (SELECT ARRAY['Петрова','Иванова','Сидорова','Щукина','Смирнова','Кузнецова',
                         'Попова','Харитонова','Соколова','Лебедева','Новикова','Морозова'] AS sur,
                   ARRAY['Анна','Мария','Елена','Ольга','Наталья','Юлия','Татьяна','Ирина'] AS giv,
                   ARRAY['Ивановна','Петровна'] AS pat) arr,
           generate_series(1, 12) s, generate_series(1, 8) g, generate_series(0, 2) p
    UNION ALL
    -- Latin letters: 14 surnames x 14 given names x 2 orders, and initials
    SELECT 3, s, g, o,
           CASE o WHEN 0 THEN giv[g] || ' ' || sur[s]
                  WHEN 1 THEN sur[s] || ' ' || giv[g]
                  ELSE left(giv[g], 1) || '. ' || sur[s] END
      FROM (SELECT ARRAY['Petrov','Ivanov','Sidorov','Shchukin','Smirnov','Kuznetsov','Kharitonov',
                         'Smith','Johnson','Brown','Miller','Davis','Wilson','Taylor'] AS sur,
                   ARRAY['Ivan','Petr','Sergey','Alexei','Alexander','John','Mary','William',
                         'Bill','Robert','Bob','Anna','Michael','James'] AS giv) arr,
           generate_series(1, 14) s, generate_series(1, 14) g, generate_series(0, 2) o
    UNION ALL
    -- Chinese: 10 family names x 12 given names, in Han characters and in pinyin (2 orders)
    SELECT 4, f, g, o,
           CASE o WHEN 0 THEN fh[f] || gh[g]
                  WHEN 1 THEN initcap(fp[f]) || ' ' || initcap(gp[g])
                  ELSE initcap(gp[g]) || ' ' || initcap(fp[f]) END
      FROM (SELECT ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴'] AS fh,
                   ARRAY['wang','li','zhang','liu','chen','yang','zhao','huang','zhou','wu'] AS fp,
                   ARRAY['小明','华','伟','芳','洋','静','磊','军','勇','艳','建国','秀英'] AS gh,
                   ARRAY['xiaoming','hua','wei','fang','yang','jing','lei','jun','yong','yan',
                         'jianguo','xiuying'] AS gp) arr,
           generate_series(1, 10) f, generate_series(1, 12) g, generate_series(0, 2) o
) gen;
SELECT count(*) AS names, count(DISTINCT name) AS distinct_names FROM people;

CREATE INDEX people_name_idx ON people USING gin (name crmdedup.name_ops);
ANALYZE people;

-- the operator class is sound
SELECT opc.opcname, am.amname, amvalidate(opc.oid)
  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
 WHERE opc.opcnamespace = 'crmdedup'::regnamespace AND opc.opcname = 'name_ops';

-- the threshold
SHOW crmdedup.name_threshold;
SET crmdedup.name_threshold = 1.5;
SET crmdedup.name_threshold = -0.1;
SET crmdedup.name_threshold = 'high';
SHOW crmdedup.name_threshold;

-- the operator on pairs: its value and name_similarity
SELECT a, b, a %~ b AS same, b %~ a AS commuted, round(name_similarity(a, b)::numeric, 3) AS sim
  FROM (VALUES ('Петров Иван', 'Ivan Petrov'),
               ('王小明', 'Wang Xiaoming'),
               ('Щукин Пётр', 'Shchukin Petr'),
               ('Петров Иван Сергеевич', 'Иван Петров'),
               ('Саша Иванов', 'Александр Иванов'),
               ('И. Петров', 'Иван Петров'),
               ('Ivan Petrov', 'Ivan'),
               ('Ivan Petrov', 'Ivan Sidorov'),
               ('Ivan Petrov', 'Petr Ivanov'),
               ('Anna Smith', 'John Smith'),
               ('', 'Ivan'),
               ('!!!', '???')) v(a, b);
SELECT NULL::text %~ 'Ivan' AS null_left, 'Ivan' %~ NULL::text AS null_right;

-- the index is used, with the column on either side
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE name %~ 'Петров Иван';
EXPLAIN (COSTS OFF) SELECT id FROM people WHERE 'Петров Иван' %~ name;

-- cross-script candidates through the index
SELECT name, round(name_similarity(name, 'Петров Иван')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Петров Иван' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Wang Xiaoming')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Wang Xiaoming' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, '王小明')::numeric, 3) AS sim
  FROM people WHERE name %~ '王小明' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Щукин Пётр')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Щукин Пётр' ORDER BY sim DESC, name;
-- typos, a reading (English j = дж), a nickname, an initial, a female form
SELECT name, round(name_similarity(name, 'Jonh Smiht')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Jonh Smiht' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Petorv Ivan')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Petorv Ivan' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Джон Смит')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Джон Смит' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Sasha Kuznetsov')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Sasha Kuznetsov' ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Ю. Харитонов')::numeric, 3) AS sim
  FROM people WHERE 'Ю. Харитонов' %~ name ORDER BY sim DESC, name;
SELECT name, round(name_similarity(name, 'Yulia Morozov')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Yulia Morozov' ORDER BY sim DESC, name;

-- the same rows with and without the index, for many queries and thresholds
CREATE TEMP TABLE probes (q text);
INSERT INTO probes VALUES ('Петров Иван'), ('Wang Xiaoming'), ('王小明'), ('Щукин Пётр'),
    ('Ivan Petrov'), ('Jonh Smiht'), ('Petorv Ivan'), ('Джон Смит'), ('Sasha Kuznetsov'), ('Ю. Харитонов'), ('Yulia Morozov'),
    ('Bill Wilson'), ('Liu Yang'), ('张伟'), ('Сергей Сергеевич'), ('A. Ivanov'), ('Taylor'),
    ('Алексей Смирнов Иванович'), (''), ('Zzyzx Qwerty');
INSERT INTO probes SELECT name FROM people WHERE id % 97 = 0;
CREATE TEMP TABLE results (threshold real, path text, q text, n bigint, ids int[]);
-- EXECUTE: planned at each call, with the enable_* settings of the moment
CREATE FUNCTION pg_temp.collect(path text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    th real;
BEGIN
    FOREACH th IN ARRAY ARRAY[0.6, 0.4, 0.8, 0.95]::real[] LOOP
        PERFORM set_config('crmdedup.name_threshold', th::text, true);
        EXECUTE 'INSERT INTO results
                 SELECT $1, $2, p.q, count(x.id),
                        array_agg(x.id ORDER BY x.id) FILTER (WHERE x.id IS NOT NULL)
                   FROM probes p LEFT JOIN LATERAL (SELECT id FROM people WHERE name %~ p.q) x ON true
                  GROUP BY p.q' USING th, path;
    END LOOP;
END $$;
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_indexscan = off;
EXPLAIN (COSTS OFF)
SELECT p.q, count(x.id) FROM probes p LEFT JOIN LATERAL (SELECT id FROM people WHERE name %~ p.q) x ON true
 GROUP BY p.q;
SELECT pg_temp.collect('index');
COMMIT;
BEGIN;
SET LOCAL enable_seqscan = on;
SET LOCAL enable_bitmapscan = off;
SET LOCAL enable_indexscan = off;
EXPLAIN (COSTS OFF)
SELECT p.q, count(x.id) FROM probes p LEFT JOIN LATERAL (SELECT id FROM people WHERE name %~ p.q) x ON true
 GROUP BY p.q;
SELECT pg_temp.collect('seq');
COMMIT;
SELECT i.threshold, count(*) AS queries, sum(i.n) AS rows_index, sum(s.n) AS rows_seq,
       count(*) FILTER (WHERE i.n = s.n AND i.ids IS NOT DISTINCT FROM s.ids) AS same
  FROM results i JOIN results s ON s.threshold = i.threshold AND s.q = i.q AND s.path = 'seq'
 WHERE i.path = 'index'
 GROUP BY i.threshold ORDER BY i.threshold;
-- %~ keeps every pair of these that name_similarity puts at the threshold: the index keys
-- hold the evidence for all of them, but for Han text read as the transcription of a
-- foreign name (a name in Han characters against one in other letters: no index key; here
-- Chinese names of two or three syllables that happen to sound like a Latin or Cyrillic word)
SET crmdedup.name_threshold = 0.6;
SELECT count(*) AS similar_pairs, count(*) FILTER (WHERE NOT n.name %~ p.q) AS without_evidence,
       count(*) FILTER (WHERE NOT n.name %~ p.q AND (n.name ~ '[一-鿿]') = (p.q ~ '[一-鿿]'))
         AS without_evidence_not_han_vs_other,
       max(name_similarity(n.name, p.q)) FILTER (WHERE NOT n.name %~ p.q) < 0.75 AS all_below_075
  FROM probes p, people n WHERE name_similarity(n.name, p.q) >= 0.6;
SET crmdedup.name_threshold = 0.8;
SELECT count(*) AS similar_pairs, count(*) FILTER (WHERE NOT n.name %~ p.q) AS without_evidence
  FROM probes p, people n WHERE name_similarity(n.name, p.q) >= 0.8;
RESET crmdedup.name_threshold;
-- the threshold changes the answer
SELECT q, threshold, n FROM results
 WHERE path = 'index' AND q IN ('Петров Иван', 'Wang Xiaoming', 'Щукин Пётр', '')
 ORDER BY q, threshold;

-- what %~ returns for a query: counted through the index and by a sequential scan
RESET crmdedup.name_threshold;
SELECT count(*) FROM people WHERE name %~ 'Ivan Petrov';
SET crmdedup.name_threshold = 0.9;
SELECT count(*) FROM people WHERE name %~ 'Ivan Petrov';
SET enable_seqscan = on;
SET enable_bitmapscan = off;
SELECT count(*) FROM people WHERE name %~ 'Ivan Petrov';
RESET crmdedup.name_threshold;
SELECT count(*) FROM people WHERE name %~ 'Ivan Petrov';
RESET enable_bitmapscan;
SET enable_seqscan = off;

-- rows the index cannot key: empty, NULL, no letters
INSERT INTO people VALUES (100001, ''), (100002, NULL), (100003, '---');
SELECT count(*) FROM people WHERE name %~ 'Иван';
-- at threshold 0 every name is "the same": the index scans all its rows, keyless ones too
SET crmdedup.name_threshold = 0;
SELECT count(*) FILTER (WHERE id > 100000) AS keyless_found, count(*) FROM people
 WHERE name %~ 'Иван';
RESET crmdedup.name_threshold;
-- a stored name longer than name_similarity accepts has no keys: the index never returns
-- it, where a sequential scan raises the error of name_similarity
INSERT INTO people VALUES (100004, repeat('Иван ', 1000));
SELECT count(*) FROM people WHERE name %~ 'Иван';
SET enable_seqscan = on;
SET enable_bitmapscan = off;
SELECT count(*) FROM people WHERE name %~ 'Иван';
RESET enable_bitmapscan;
SET enable_seqscan = off;
DELETE FROM people WHERE id > 100000;
-- a query longer than name_similarity accepts is an error, as without the index
SELECT count(*) FROM people WHERE name %~ repeat('a', 5000);

-- updates and deletes are seen through the index
SELECT id, name FROM people WHERE name %~ 'Zinaida Zyuzyukina' ORDER BY id;
UPDATE people SET name = 'Зинаида Зюзюкина' WHERE id = 1;
SELECT id, name FROM people WHERE name %~ 'Zinaida Zyuzyukina' ORDER BY id;
DELETE FROM people WHERE id = 1;
SELECT id, name FROM people WHERE name %~ 'Zinaida Zyuzyukina' ORDER BY id;

-- <~>: 1 - name_similarity, for the top k of the rows %~ found through the index
SELECT a, b, round((a <~> b)::numeric, 3) AS dist,
       round((a <~> b)::numeric, 6) = round((1 - name_similarity(a, b))::numeric, 6) AS is_1_minus_sim
  FROM (VALUES ('Петров Иван', 'Ivan Petrov'), ('Ivan Petrov', 'Anna Smith'),
               ('王小明', 'Wang Xiaoming')) v(a, b);
SELECT NULL::text <~> 'Ivan' AS null_left;
EXPLAIN (COSTS OFF)
SELECT id, name FROM people WHERE name %~ 'Петров Иван' ORDER BY name <~> 'Петров Иван', id LIMIT 5;
SELECT name, round((name <~> 'Петров Иван')::numeric, 3) AS dist
  FROM people WHERE name %~ 'Петров Иван' ORDER BY name <~> 'Петров Иван', id LIMIT 5;

-- typos: the evidence credits one edit per word, also in words of 9+ letters where
-- name_similarity's typo rule allows two; a word with two edits needs another shared key
-- (its sound, a nickname group) for %~, with or without the index
SELECT a, b, round(name_similarity(a, b)::numeric, 3) AS name_similarity, a %~ b AS same_name
  FROM (VALUES ('Jonh Tchaikovsky', 'Jonh Tcaikovsky'),
               ('Jonh Tchaikovsy', 'Jonh Tcaikovsky'),
               ('Егоров Денис Константинович', 'Егоров Денис Констнатинович'),
               ('Vozorsky Denis Egorovich', 'Petrov Denis Ivanovich')) v(a, b);
-- so the index no longer hands the recheck the rows whose patronymic of 9+ letters
-- shares only its ending ("-ович") with the query's: 36 rows here (Петрович is one edit
-- from Егорович by its trigrams), 84 before 0.2.0's one-edit evidence
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM people WHERE name %~ 'Возорский Пётр Егорович';
SELECT name FROM people WHERE name %~ 'Возорский Пётр Егорович' ORDER BY id;

-- a typo that needs the spelling fold ranks below one typed as it reads: Мирноов is
-- Миронов with two letters swapped; its fold mirnov is one edit from smirnov too, but
-- Смирнов is two as written (s dropped, o doubled): 0.975 against 0.97, not a tie
INSERT INTO people VALUES (200001, 'Миронов Иван');
SELECT name, round(name_similarity(name, 'Мирноов Иван')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Мирноов Иван' ORDER BY sim DESC, name LIMIT 4;
-- a name of 2 words with a patronymic (name-grams-5 keys it): Андрей Иванович lacks
-- the query's surname and pays 0.25 + 0.05 for it (0.769), and the index finds it;
-- every "Андрей <surname>" of 2 words shares only the given name (0.5) and no longer
-- goes to the recheck (it did while any 2-word item might have held a patronymic).
-- Since name-grams-6 one of Chudykh's sound keys shares its 16-bit hash with Иванов's,
-- so the 11 names with Андрей and Иванов go to the recheck, which drops them.
INSERT INTO people VALUES (200002, 'Андрей Иванович');
SELECT name, round(name_similarity(name, 'Andrej Chudykh')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Andrej Chudykh' ORDER BY sim DESC, name;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id FROM people WHERE name %~ 'Andrej Chudykh';
-- the same rows by a sequential scan
SET enable_seqscan = on;
SET enable_bitmapscan = off;
SELECT name, round(name_similarity(name, 'Мирноов Иван')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Мирноов Иван' ORDER BY sim DESC, name LIMIT 4;
SELECT name, round(name_similarity(name, 'Andrej Chudykh')::numeric, 3) AS sim
  FROM people WHERE name %~ 'Andrej Chudykh' ORDER BY sim DESC, name;
SELECT (SELECT count(*) FROM people WHERE name %~ 'Мирноов Иван') AS typo_rows,
       (SELECT count(*) FROM people WHERE name %~ 'Andrej Chudykh') AS patronymic_rows;
RESET enable_bitmapscan;
SET enable_seqscan = off;
SELECT (SELECT count(*) FROM people WHERE name %~ 'Мирноов Иван') AS typo_rows,
       (SELECT count(*) FROM people WHERE name %~ 'Andrej Chudykh') AS patronymic_rows;
DELETE FROM people WHERE id > 200000;

-- pg_trgm cannot do this: its trigrams are of the script the name is written in, so two
-- scripts share none.  (This test database has the C locale, where pg_trgm also sees no
-- letters outside ASCII; under a UTF-8 locale the pairs below still share no trigram.)
CREATE EXTENSION pg_trgm;
SELECT a, b, similarity(a, b) AS trgm_similarity, a % b AS trgm_similar,
       round(name_similarity(a, b)::numeric, 3) AS name_similarity, a %~ b AS same_name
  FROM (VALUES ('Петров Иван', 'Ivan Petrov'),
               ('王小明', 'Wang Xiaoming'),
               ('Щукин Пётр', 'Shchukin Petr'),
               ('Ivan Petrov', 'Petrov Ivan')) v(a, b);
CREATE INDEX people_name_trgm ON people USING gin (name gin_trgm_ops);
SELECT count(*) AS trgm_rows, count(*) FILTER (WHERE name !~ '[A-Za-z]') AS other_script
  FROM people WHERE name % 'Ivan Petrov';
SELECT count(*) AS name_ops_rows, count(*) FILTER (WHERE name !~ '[A-Za-z]') AS other_script
  FROM people WHERE name %~ 'Ivan Petrov';
DROP INDEX people_name_trgm;
DROP EXTENSION pg_trgm;

RESET enable_seqscan;
DROP TABLE people;
