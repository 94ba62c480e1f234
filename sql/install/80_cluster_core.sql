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
'clusters one component: ids are its members, pair k joins ids[a[k]] and ids[b[k]] with scores[k] in [0,1] (missing pairs: never compared, 0 in averages; repeats keep the highest; NaN: never compared). Average-linkage merges while the average cross score >= threshold and no cross pair is below floor. One row per member: its cluster (named by the center id), the center (member with the highest average score to the others) and its score to the center (1 for the center)';

-- Connected components of a graph given as edges between numbered nodes, in C (union-find).
CREATE FUNCTION @extschema@.pair_components(n integer, a integer[], b integer[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'pair_components'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.pair_components(integer, integer[], integer[]) IS
'connected components of nodes 1..n joined by the edges a[k] - b[k]: element i is the smallest node of i''s component';
