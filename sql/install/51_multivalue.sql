-- Multi-valued columns: the normalized keys of a text[] or jsonb list, for GIN indexes.

CREATE FUNCTION @extschema@.phone_keys(raw text[], region text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT k
               FROM unnest(raw) AS r, LATERAL (SELECT @extschema@.phone_e164(r, region) AS k) AS s
              WHERE k IS NOT NULL ORDER BY 1);

CREATE FUNCTION @extschema@.phone_keys(raw jsonb, region text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN @extschema@.phone_keys(@extschema@.field_values(raw), region);

CREATE FUNCTION @extschema@.email_keys(raw text[])
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT DISTINCT k
               FROM unnest(raw) AS r, LATERAL (SELECT @extschema@.email_key(r) AS k) AS s
              WHERE k IS NOT NULL ORDER BY 1);

CREATE FUNCTION @extschema@.email_keys(raw jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN @extschema@.email_keys(@extschema@.field_values(raw));

COMMENT ON FUNCTION @extschema@.phone_keys(text[], text) IS
'sorted distinct E.164 numbers of a list of raw phones; index with GIN and search with &&';
COMMENT ON FUNCTION @extschema@.phone_keys(jsonb, text) IS
'sorted distinct E.164 numbers of a jsonb list (strings, or objects with "phone", "number" or "value")';
COMMENT ON FUNCTION @extschema@.email_keys(text[]) IS
'sorted distinct email keys of a list of raw addresses; index with GIN and search with &&';
COMMENT ON FUNCTION @extschema@.email_keys(jsonb) IS
'sorted distinct email keys of a jsonb list (strings, or objects with "email" or "value")';
