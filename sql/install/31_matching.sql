-- Field matching across scripts: phonetic key, nicknames, name/company/phone/email similarity.

CREATE FUNCTION @extschema@.phonetic(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'phonetic'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phonetic(text) IS
'sound key of a name after transliteration, one per word: Щукин, Shchukin and Schukin meet';

CREATE FUNCTION @extschema@.nickname_canonical(word text)
RETURNS text
AS 'MODULE_PATHNAME', 'nickname_canonical'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.nickname_canonical(text) IS
'the full given name of a nickname or diminutive, transliterated (Саша → aleksandr, Bob → robert)';

CREATE FUNCTION @extschema@.name_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_similarity(text, text) IS
'similarity of two person names in [0,1] across scripts, word order, initials, nicknames and patronymics';

CREATE FUNCTION @extschema@.company_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'company_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.company_similarity(text, text) IS
'similarity of two company names in [0,1], legal forms and quotes ignored, across scripts';

CREATE FUNCTION @extschema@.phone_similarity(a text, b text, region text)
RETURNS float8
AS 'MODULE_PATHNAME', 'phone_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.phone_similarity(text, text, text) IS
'1 for the same number in any format; high for one mistyped or transposed digit';

CREATE FUNCTION @extschema@.name_part_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'name_part_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_part_similarity(text, text) IS
'similarity of one part of a person''s name (a first, last or middle name): name_similarity, and a letter dropped or doubled in a short name is a typo (Sarah/Sara)';

CREATE FUNCTION @extschema@.address_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'address_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.address_similarity(text, text) IS
'similarity of two street addresses in [0,1]: words in any order with typos, across scripts; at most 0.6 when their house and street numbers disagree';

CREATE FUNCTION @extschema@.email_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'email_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.email_similarity(text, text) IS
'1 for the same mailbox; high for a typo domain or the same name at another domain';
