-- Email normalizer.

CREATE FUNCTION @extschema@.email_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'email_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_key(text) IS
'dedup key of an email address: canonical form plus provider rules (Gmail dots and +tags, Yandex aliases); NULL if invalid';

CREATE FUNCTION @extschema@.email_normalize(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'email_normalize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_normalize(text) IS
'email address in canonical form (display name and mailto: removed, lower case, IDNA domain), without provider rules; NULL if invalid';

CREATE FUNCTION @extschema@.email_parse(raw text,
    OUT address text, OUT key text, OUT valid boolean, OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'email_parse'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_parse(text) IS
'email address parsed: canonical address, dedup key, and the reason when it is rejected';
