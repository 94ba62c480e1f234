-- crmdedup upgrade 0.1.0 -> 0.2.0.
-- Every change made to sql/install/*.sql after 0.1.0 is repeated here, so that
-- ALTER EXTENSION crmdedup UPDATE gives the same objects as a fresh install of 0.2.0
-- (test/e2e/upgrade.sh compares the two).
\echo Use "ALTER EXTENSION crmdedup UPDATE TO '0.2.0'" to load this file. \quit

-- crmdedup.name_ops: name index keys name-grams-2 (no letter keys, no word-fold keys, the keys
-- of sounds, gender stems, swaps and joined runs in shared hash buckets: a smaller index).
-- The opclass is unchanged, but indexes built by 0.1.0 hold name-grams-1 keys and answer %~
-- wrongly: crmdedup.versions() shows "name index keys" changed and a warning asks for
-- REINDEX of every index USING gin (... crmdedup.name_ops), then crmdedup.refresh_versions().

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
