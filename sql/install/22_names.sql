-- Name, person and company keys.

CREATE FUNCTION @extschema@.name_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'name_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.name_key(text) IS
'NFKC, case folded, marks removed, punctuation and spaces folded; script kept; NULL if no letters or digits';

CREATE FUNCTION @extschema@.translit(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'translit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.translit(text) IS
'any script to lower-case Latin ASCII words (Пётр Щукин → petr shchukin, 王小明 → wang xiao ming)';

CREATE FUNCTION @extschema@.person_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'person_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.person_key(text) IS
'transliterated person name with its words sorted: Петров Иван = Ivan Petrov';

CREATE FUNCTION @extschema@.company_key(raw text)
RETURNS text
AS 'MODULE_PATHNAME', 'company_key'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.company_key(text) IS
'company name without legal forms and quotes (ООО «Ромашка» → ромашка), then as name_key';
