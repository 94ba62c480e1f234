-- Cross-script fuzzy name search: the operator %~ ("may be the same name") and the GIN
-- operator class crmdedup.name_ops that finds its candidates (unlike pg_trgm, across
-- scripts: Петров Иван %~ Ivan Petrov, 王小明 %~ Wang Xiaoming).

-- STABLE, not IMMUTABLE: the threshold is the GUC crmdedup.name_threshold (as pg_trgm's %).
-- COST: a call transliterates and compares two names (several microseconds, about a
-- hundred simple operators); with the default cost of 1 the planner scans a large table
-- sequentially rather than through crmdedup.name_ops.
CREATE FUNCTION @extschema@.name_similar(a text, b text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'name_similar'
LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION @extschema@.name_similar(text, text) IS
'a %~ b: name_similarity(a, b) reaches crmdedup.name_threshold, and the names share the keys of crmdedup.name_ops that allow it';

CREATE OPERATOR @extschema@.%~ (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = @extschema@.name_similar,
    COMMUTATOR = OPERATOR(@extschema@.%~),
    RESTRICT = pg_catalog.contsel,
    JOIN = pg_catalog.contjoinsel
);

COMMENT ON OPERATOR @extschema@.%~ (text, text) IS
'may be the same person name, in any script (crmdedup.name_threshold)';

-- GIN support: keys are int4 hashes of trigrams, sounds, nicknames, initials ... (name_grams.h)
CREATE FUNCTION @extschema@.name_ops_extract_value(text, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'name_ops_extract_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- reads crmdedup.name_threshold once per scan
CREATE FUNCTION @extschema@.name_ops_extract_query(text, internal, int2, internal, internal, internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'name_ops_extract_query'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.name_ops_consistent(internal, int2, text, int4, internal, internal, internal, internal)
RETURNS boolean
AS 'MODULE_PATHNAME', 'name_ops_consistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.name_ops_triconsistent(internal, int2, text, int4, internal, internal, internal)
RETURNS "char"
AS 'MODULE_PATHNAME', 'name_ops_triconsistent'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS @extschema@.name_ops
FOR TYPE text USING gin AS
    OPERATOR 1 @extschema@.%~ (text, text),
    FUNCTION 1 pg_catalog.btint4cmp(int4, int4),
    FUNCTION 2 @extschema@.name_ops_extract_value(text, internal),
    FUNCTION 3 @extschema@.name_ops_extract_query(text, internal, int2, internal, internal, internal, internal),
    FUNCTION 4 @extschema@.name_ops_consistent(internal, int2, text, int4, internal, internal, internal, internal),
    FUNCTION 6 @extschema@.name_ops_triconsistent(internal, int2, text, int4, internal, internal, internal),
    STORAGE int4;

COMMENT ON OPERATOR CLASS @extschema@.name_ops USING gin IS
'candidates for %~ across scripts: CREATE INDEX ... USING gin (full_name crmdedup.name_ops)';

-- a <~> b = 1 - name_similarity(a, b), for ORDER BY over the rows %~ found through the index:
--   WHERE name %~ 'q' ORDER BY name <~> 'q' LIMIT 10.  No GiST opclass orders by it (README).
CREATE FUNCTION @extschema@.name_distance(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_distance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION @extschema@.name_distance(text, text) IS
'1 - name_similarity(a, b): the distance of the <~> operator';

CREATE OPERATOR @extschema@.<~> (
    LEFTARG = text,
    RIGHTARG = text,
    FUNCTION = @extschema@.name_distance,
    COMMUTATOR = OPERATOR(@extschema@.<~>)
);

COMMENT ON OPERATOR @extschema@.<~> (text, text) IS
'name distance, 1 - name_similarity: ORDER BY name <~> ''query'' after a %~ filter';
