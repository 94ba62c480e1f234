-- String metrics on Unicode characters (no folding: fold with name_key() or translit() first).

CREATE FUNCTION @extschema@.jaro_winkler(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'jaro_winkler'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.jaro_winkler(text, text) IS
'Jaro-Winkler similarity in [0,1] over Unicode characters';

CREATE FUNCTION @extschema@.levenshtein(a text, b text)
RETURNS integer
AS 'MODULE_PATHNAME', 'levenshtein_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.levenshtein(a text, b text, max integer)
RETURNS integer
AS 'MODULE_PATHNAME', 'levenshtein_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.levenshtein(text, text) IS
'optimal string alignment distance (adjacent transpositions cost 1) over Unicode characters';
COMMENT ON FUNCTION @extschema@.levenshtein(text, text, integer) IS
'optimal string alignment distance, at most max + 1: stops as soon as the distance exceeds max';

CREATE FUNCTION @extschema@.levenshtein_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'levenshtein_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.levenshtein_similarity(text, text) IS
'1 - levenshtein(a, b) / greatest length, in [0,1]';

CREATE FUNCTION @extschema@.trigram_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'trigram_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.trigram_similarity(text, text) IS
'Jaccard similarity of character trigrams (pg_trgm-like, over Unicode characters)';

CREATE FUNCTION @extschema@.token_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'token_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.token_similarity(text, text) IS
'order-free similarity of space-separated words, with typos, initials and prefixes; extra words cost little';
