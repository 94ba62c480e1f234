-- Clustering of duplicate candidates that does not chain: average linkage over one connected
-- component of scored pairs, where a pair scored below the floor never ends in one cluster.

CREATE FUNCTION @extschema@.cluster_pairs(
    ids text[], a integer[], b integer[], scores float8[],
    threshold float8, floor float8 DEFAULT 0.2,
    OUT id text, OUT cluster_id text, OUT center text, OUT score_to_center float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cluster_pairs'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION @extschema@.cluster_pairs(text[], integer[], integer[], float8[], float8, float8) IS
'clusters one component: ids are its members, pair k joins ids[a[k]] and ids[b[k]] with scores[k] in [0,1] (missing pairs: never compared, a score of 0 in averages; repeats keep the highest; NaN: never compared). Average linkage of evidence (a score''s log-odds in bits, within +-10 bits) merges while the average cross evidence reaches that of threshold and no cross pair is below floor. One row per member: its cluster (named by the center id), the center (member with the highest average evidence to the others) and its score to the center (1 for the center)';

-- Connected components of a graph given as edges between numbered nodes, in C (union-find).
CREATE FUNCTION @extschema@.pair_components(n integer, a integer[], b integer[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'pair_components'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.pair_components(integer, integer[], integer[]) IS
'connected components of nodes 1..n joined by the edges a[k] - b[k]: element i is the smallest node of i''s component';

-- The heavy steps of the reports in C (src/report_fn.c), over integer row numbers.
CREATE FUNCTION @extschema@.report_row_keys(compiled jsonb, r jsonb)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'report_row_keys'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 500;

COMMENT ON FUNCTION @extschema@.report_row_keys(jsonb, jsonb) IS
'the blocking keys of a row (jsonb) under a compiled profile, the keys of blocking_keys(), as 64-bit hashes each once (bit 0 set: a word-sound key)';

CREATE FUNCTION @extschema@.report_block_pairs(keys regclass, ranks regclass, block_cap integer,
    OUT n integer, OUT a integer, OUT b integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_block_pairs'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_block_pairs(regclass, regclass, integer) IS
'candidate pairs (a < b, numbered n) of the row numbers in keys (rn int4, h int8): all pairs of a block of at most block_cap rows, else the next two rows in the order of ranks (rn int4, s text), the next one for word-sound keys; each pair once';

CREATE FUNCTION @extschema@.report_score_pairs(profile text, pairs regclass, rows regclass, lo bigint, hi bigint,
    min_score float8 DEFAULT 0, OUT a integer, OUT b integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_score_pairs'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 10000000 ROWS 10000;

COMMENT ON FUNCTION @extschema@.report_score_pairs(text, regclass, regclass, bigint, bigint, float8) IS
'the score_rows() scores of the pairs (n, a, b) with lo < n <= hi of a work table, each row of rows (rn int4, r jsonb) read once for the range; with min_score > 0 a pair that cannot reach it may get a NULL score';

CREATE FUNCTION @extschema@.report_cluster(profile text, rows regclass, scored regclass[], threshold float8,
    floor float8 DEFAULT 0.2, OUT rn integer, OUT center integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_cluster'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_cluster(text, regclass, regclass[], float8, float8) IS
'clusters of the scored pairs (a, b, score) in the scored tables over rows (rn int4, r jsonb): components of the pairs >= threshold, the pairs inside them no key found scored, average-linkage clusters (no pair below floor); one row per member of a component: its cluster''s center and its score to it';

CREATE FUNCTION @extschema@.report_missing_pairs(rows regclass, scored regclass[], threshold float8,
    OUT n integer, OUT a integer, OUT b integer, OUT score float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'report_missing_pairs'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED ROWS 1000;

COMMENT ON FUNCTION @extschema@.report_missing_pairs(regclass, regclass[], float8) IS
'every pair (a < b) inside the components of the pairs scored >= threshold: those that no scored table (a, b, score) holds numbered n, with a NULL score, the others with their score and a NULL n';

CREATE FUNCTION @extschema@.filled_fields(r jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'filled_fields'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.filled_fields(jsonb) IS
'the top-level values of a jsonb object that are not null, "" or [] (the most_complete survivor rule)';
