-- String metrics over Unicode characters.
SET extra_float_digits = 0;

SELECT round(crmdedup.jaro_winkler('martha', 'marhta')::numeric, 3) AS jw_martha,
       round(crmdedup.jaro_winkler('dwayne', 'duane')::numeric, 3) AS jw_dwayne,
       round(crmdedup.jaro_winkler('dixon', 'dicksonx')::numeric, 3) AS jw_dixon,
       crmdedup.jaro_winkler('', '') AS jw_empty, crmdedup.jaro_winkler('a', '') AS jw_one_empty;

-- characters, not bytes
SELECT crmdedup.levenshtein('щукин', 'шукин') AS cyr, crmdedup.levenshtein('王小明', '王晓明') AS han,
       crmdedup.levenshtein('kitten', 'sitting') AS kitten, crmdedup.levenshtein('ca', 'abc') AS osa_ca,
       crmdedup.levenshtein('abcd', 'acbd') AS transposition;

-- early exit: never more than max + 1, equal to the distance when within max
SELECT max, crmdedup.levenshtein('kitten', 'sitting', max) AS bounded
  FROM generate_series(0, 4) AS max;
SELECT crmdedup.levenshtein('a', 'b', -1);

SELECT round(crmdedup.levenshtein_similarity('ivanov', 'ivanova')::numeric, 3) AS lev_sim,
       round(crmdedup.trigram_similarity('word', 'words')::numeric, 3) AS trgm_word,
       crmdedup.trigram_similarity('', '') AS trgm_empty,
       round(crmdedup.trigram_similarity('петров', 'петрова')::numeric, 3) AS trgm_cyr;

-- order-free words, initials, a missing patronymic costs little
SELECT a, b, round(crmdedup.token_similarity(a, b)::numeric, 3) AS token_sim
  FROM (VALUES ('ivan petrov', 'petrov ivan'), ('ivan petrov', 'i petrov'),
               ('ivan petrov', 'ivan ivanovich petrov'), ('ivan petrov', 'ivan sidorov'),
               ('ivan petrov', ''), ('петров иван', 'иван петров')) AS t(a, b);

-- symmetric on a sample of name pairs
SELECT count(*) AS asymmetric
  FROM (VALUES ('ivan'), ('ivanov'), ('petr ivanov'), ('щукин'), ('王小明'), ('x'), ('')) AS x(a),
       (VALUES ('ivan'), ('ivanova'), ('ivanov petr'), ('шукин'), ('王晓明'), ('y'), ('')) AS y(b)
 WHERE crmdedup.jaro_winkler(a, b) <> crmdedup.jaro_winkler(b, a)
    OR crmdedup.levenshtein(a, b) <> crmdedup.levenshtein(b, a)
    OR crmdedup.trigram_similarity(a, b) <> crmdedup.trigram_similarity(b, a)
    OR crmdedup.token_similarity(a, b) <> crmdedup.token_similarity(b, a);

-- input caps
\set VERBOSITY terse
SELECT crmdedup.levenshtein(repeat('a', 5000), 'a');
SELECT crmdedup.token_similarity(repeat('a ', 300), 'a');
\set VERBOSITY default
SELECT crmdedup.levenshtein(repeat('a', 4096), repeat('b', 4096), 3) AS bounded_long;
