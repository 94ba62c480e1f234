-- crmdedup upgrade 0.1.0 -> 0.2.0.
-- Every change made to sql/install/*.sql after 0.1.0 is repeated here, so that
-- ALTER EXTENSION crmdedup UPDATE gives the same objects as a fresh install of 0.2.0
-- (test/e2e/upgrade.sh compares the two).
\echo Use "ALTER EXTENSION crmdedup UPDATE TO '0.2.0'" to load this file. \quit

-- Matching quality (issue 3): address numbers must agree.
CREATE FUNCTION @extschema@.address_similarity(a text, b text)
RETURNS float8
AS 'MODULE_PATHNAME', 'address_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.address_similarity(text, text) IS
'similarity of two street addresses in [0,1]: words in any order with typos, across scripts; at most 0.6 when their house and street numbers disagree';

-- similarity of two values of a role, in [0,1]
CREATE OR REPLACE FUNCTION @extschema@.value_similarity(role text, a text, b text, region text)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE role
    WHEN 'person_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'first_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'last_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'middle_name' THEN @extschema@.name_similarity(a, b)
    WHEN 'company' THEN @extschema@.company_similarity(a, b)
    WHEN 'phone' THEN @extschema@.phone_similarity(a, b, region)
    WHEN 'email' THEN @extschema@.email_similarity(a, b)
    WHEN 'address' THEN @extschema@.address_similarity(a, b)
    WHEN 'text' THEN coalesce(@extschema@.token_similarity(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'city' THEN coalesce(@extschema@.jaro_winkler(@extschema@.translit(a), @extschema@.translit(b)), 0)
    WHEN 'postcode' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'code' THEN coalesce(@extschema@.levenshtein_similarity(@extschema@.name_key(a), @extschema@.name_key(b)), 0)
    WHEN 'external_id' THEN CASE WHEN @extschema@.name_key(a) = @extschema@.name_key(b) THEN 1 ELSE 0 END
    WHEN 'birth_date' THEN (
        SELECT CASE WHEN da IS NULL OR db IS NULL THEN 0
                    WHEN da = db THEN 1
                    -- day and month swapped (US vs European order)
                    WHEN left(da, 4) = left(db, 4) AND substr(da, 5, 2) = substr(db, 7, 2)
                         AND substr(da, 7, 2) = substr(db, 5, 2) THEN 0.85
                    ELSE @extschema@.levenshtein_similarity(da, db) END
          FROM (SELECT @extschema@.date_digits(a) AS da, @extschema@.date_digits(b) AS db) d)
END;

