-- Phone normalizer.

CREATE FUNCTION @extschema@.phone_e164(raw text, region text)
RETURNS text
AS 'MODULE_PATHNAME', 'phone_e164'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_e164(text, text) IS
'phone number in E.164 form (+79123456789), region = ISO code for numbers written without a country code ("ZZ": none); NULL if not a valid number';

CREATE FUNCTION @extschema@.phone_extension(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'phone_extension'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_extension(text) IS
'extension digits written after a phone number (ext. 12, x12, доб. 12, 转12), or NULL';

CREATE FUNCTION @extschema@.phone_parse(raw text, region text,
    OUT e164 text, OUT extension text, OUT country_code integer, OUT number_region text,
    OUT valid boolean, OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'phone_parse'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_parse(text, text) IS
'phone number parsed: E.164, extension, country code, region, and the reason when it is rejected';
