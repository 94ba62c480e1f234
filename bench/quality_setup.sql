-- bench/quality_setup.sql: what a user of crmdedup writes for each dataset (the profile: which
-- column plays which role, default levels and thresholds), the blocking keys, and the pg_trgm rule a
-- DBA would write without crmdedup.  Nothing here is derived from the answers.
--
-- q.setup:     ds, its table, profile spec, label
-- q.blocking:  ds, key name, SQL expression over the row alias r returning text[] (NULLs ignored)
-- q.trgm_rule: ds, SQL expressions over the pair aliases a, b:
--                exact       boolean  an exact key agrees (the rule then says "duplicate" whatever t is)
--                name_sim    float8   pg_trgm similarity() of the names
--                other_exact boolean  another field agrees exactly
--                other_sim   float8   pg_trgm similarity() of a free-text field (agrees when >= t)
--              duplicate(t) = exact OR (name_sim >= t AND (other_exact OR other_sim >= t))
\set ON_ERROR_STOP 1

CREATE TABLE q.setup (ds text PRIMARY KEY, ord int, label text, spec jsonb);
-- star: an exact normalized key (one company name, phone, e-mail, id) or a company word (a
-- company's spellings share its distinctive word): a block of it over the cap is not skipped but
-- joined as a star, each record paired with the block's most common value only (bench/quality.sql
-- then predicts a pair of two records of the star when it predicts both of their pairs with that
-- record, for crmdedup and the pg_trgm rule alike)
CREATE TABLE q.blocking (ds text, name text, expr text, star boolean NOT NULL DEFAULT false, PRIMARY KEY (ds, name));
CREATE TABLE q.trgm_rule (ds text PRIMARY KEY, exact text, name_sim text, other_exact text, other_sim text, note text);

-- keys on a name that tolerate spelling: the phonetic key of a word, and its first letters
CREATE FUNCTION q.first(v text, n int) RETURNS text LANGUAGE sql IMMUTABLE
RETURN nullif(left(crmdedup.translit(v), n), '');
-- the last 7 digits of a phone (the subscriber number: area codes are often left out or changed)
CREATE FUNCTION q.phone7(v text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE WHEN length(regexp_replace(v, '\D', '', 'g')) >= 7 THEN right(regexp_replace(v, '\D', '', 'g'), 7) END;
-- the words of a company name without legal forms, transliterated
CREATE FUNCTION q.company_words(v text) RETURNS text[] LANGUAGE sql IMMUTABLE
RETURN string_to_array(crmdedup.translit(crmdedup.company_key(v)), ' ');
-- the first two words of an address line (house number and street), and the house number
CREATE FUNCTION q.street(v text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN nullif(array_to_string((string_to_array(crmdedup.translit(v), ' '))[1:2], ' '), '');
CREATE FUNCTION q.house(v text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN substring(v FROM '^\s*(\d+)');
-- digits only, for exact comparison of phones in the pg_trgm rule
CREATE FUNCTION q.digits(v text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN nullif(regexp_replace(v, '\D', '', 'g'), '');
CREATE FUNCTION q.lc(v text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN nullif(lower(btrim(v)), '');

-- FEBRL 1-4: Australian persons.  SSN is an external id; street line, suburb, postcode, state.
INSERT INTO q.setup
SELECT 'febrl' || n, n, 'febrl' || n || CASE n WHEN 4 THEN ' (4a+4b)' ELSE '' END,
       '{"id": "id", "region": "AU", "fields": {
           "given_name": "first_name", "surname": "last_name", "date_of_birth": "birth_date",
           "address": "address", "suburb": "city", "postcode": "postcode", "state": "code",
           "soc_sec_id": "external_id"}}'
  FROM generate_series(1, 4) n;
INSERT INTO q.blocking
SELECT 'febrl' || n, b.name, b.expr
  FROM generate_series(1, 4) n, (VALUES
    ('name word sound + other initial', 'ARRAY[crmdedup.phonetic(r.given_name) || q.first(r.surname, 1),
                                              crmdedup.phonetic(r.surname) || q.first(r.given_name, 1)]'),
    ('name word 3 + birth year', 'ARRAY[q.first(r.given_name, 3) || left(r.date_of_birth, 4),
                                       q.first(r.surname, 3) || left(r.date_of_birth, 4)]'),
    ('postcode + name word initial', 'ARRAY[r.postcode || q.first(r.given_name, 1), r.postcode || q.first(r.surname, 1)]'),
    ('birth date', 'ARRAY[r.date_of_birth]'),
    ('ssn', 'ARRAY[r.soc_sec_id]'),
    ('street + suburb 1', 'ARRAY[q.street(r.address) || q.first(r.suburb, 1)]')) AS b(name, expr);
INSERT INTO q.trgm_rule
SELECT 'febrl' || n, 'a.soc_sec_id = b.soc_sec_id',
       'similarity(concat_ws('' '', a.given_name, a.surname), concat_ws('' '', b.given_name, b.surname))',
       'a.date_of_birth = b.date_of_birth OR a.postcode = b.postcode OR a.suburb = b.suburb',
       'similarity(a.address, b.address)',
       'same SSN, or name >= t and (same DOB, postcode or suburb, or address >= t)'
  FROM generate_series(1, 4) n;

-- Splink fake_1000: UK persons with e-mail.  About a sixth of its names are missing and some sit in
-- the other name column; the set is small, so the sound of each name word alone is a key here too.
INSERT INTO q.setup VALUES ('fake1000', 5, 'splink fake_1000',
    '{"id": "id", "region": "GB", "fields": {
        "first_name": "first_name", "surname": "last_name", "dob": "birth_date", "city": "city", "email": "email"}}');
INSERT INTO q.blocking VALUES
    ('fake1000', 'name word sound', 'ARRAY[crmdedup.phonetic(r.first_name), crmdedup.phonetic(r.surname)]'),
    ('fake1000', 'name word sound + other initial', 'ARRAY[crmdedup.phonetic(r.first_name) || q.first(r.surname, 1),
                                                          crmdedup.phonetic(r.surname) || q.first(r.first_name, 1)]'),
    ('fake1000', 'name word 3 + birth year', 'ARRAY[q.first(r.first_name, 3) || left(r.dob, 4),
                                                   q.first(r.surname, 3) || left(r.dob, 4)]'),
    ('fake1000', 'birth date', 'ARRAY[r.dob]'),
    ('fake1000', 'email key', 'ARRAY[crmdedup.email_key(r.email)]'),
    ('fake1000', 'email mailbox', 'ARRAY[split_part(crmdedup.email_key(r.email), ''@'', 1)]'),
    ('fake1000', 'city + name word initial', 'ARRAY[q.first(r.city, 4) || q.first(r.first_name, 1),
                                                   q.first(r.city, 4) || q.first(r.surname, 1)]');
INSERT INTO q.trgm_rule VALUES ('fake1000', 'lower(a.email) = lower(b.email)',
    'similarity(concat_ws('' '', a.first_name, a.surname), concat_ws('' '', b.first_name, b.surname))',
    'a.dob = b.dob OR q.lc(a.city) = q.lc(b.city)',
    'similarity(a.email, b.email)',
    'same e-mail, or name >= t and (same DOB or city, or e-mail >= t)');

-- Fodors-Zagat restaurants: company name, street address, city, US phone (cuisine left out: the two
-- guides name cuisines differently).
INSERT INTO q.setup VALUES ('fodors_zagat', 6, 'fodors-zagat',
    '{"id": "id", "region": "US", "fields": {
        "name": "company", "addr": "address", "city": "city", "phone": "phone"}}');
INSERT INTO q.blocking VALUES
    ('fodors_zagat', 'phone 7', 'ARRAY[q.phone7(r.phone)]'),
    ('fodors_zagat', 'name words', 'q.company_words(r.name)'),
    ('fodors_zagat', 'street', 'ARRAY[q.street(r.addr)]'),
    ('fodors_zagat', 'house + city 3', 'ARRAY[q.house(r.addr) || q.first(r.city, 3)]');
INSERT INTO q.trgm_rule VALUES ('fodors_zagat', 'q.digits(a.phone) = q.digits(b.phone)',
    'similarity(a.name, b.name)', 'q.lc(a.city) = q.lc(b.city)', 'similarity(a.addr, b.addr)',
    'same phone digits, or name >= t and (same city, or address >= t)');

-- dedupe Chicago early childhood: organisations; phones are mostly 7 digits without area code.
INSERT INTO q.setup VALUES ('chicago', 7, 'chicago early childhood',
    '{"id": "id", "region": "US", "fields": {
        "site_name": "company", "address": "address", "zip": "postcode", "phone": "phone", "email": "email"}}');
INSERT INTO q.blocking VALUES
    ('chicago', 'phone 7', 'ARRAY[q.phone7(r.phone)]'),
    ('chicago', 'name words', 'q.company_words(r.site_name)'),
    ('chicago', 'street', 'ARRAY[q.street(r.address)]'),
    ('chicago', 'house + zip', 'ARRAY[q.house(r.address) || r.zip]'),
    ('chicago', 'email key', 'ARRAY[crmdedup.email_key(r.email)]');
INSERT INTO q.trgm_rule VALUES ('chicago',
    'q.digits(a.phone) = q.digits(b.phone) OR q.lc(a.email) = q.lc(b.email)',
    'similarity(a.site_name, b.site_name)', 'a.zip = b.zip', 'similarity(a.address, b.address)',
    'same phone digits or e-mail, or name >= t and (same zip, or address >= t)');

-- dedupe patstat: raw company names only (the name is all a CRM would hold of an applicant here).
INSERT INTO q.setup VALUES ('patstat', 8, 'patstat (all)',
    '{"id": "id", "region": "NL", "fields": {"company": "company"}}');
INSERT INTO q.blocking VALUES
    ('patstat', 'company key', 'ARRAY[crmdedup.translit(crmdedup.company_key(r.company))]'),
    ('patstat', 'company words', 'q.company_words(r.company)'),
    ('patstat', 'company first 2 words', 'ARRAY[array_to_string((q.company_words(r.company))[1:2], '' '')]');
INSERT INTO q.trgm_rule VALUES ('patstat', 'false', 'similarity(a.company, b.company)', 'true', '0',
    'name >= t (no other field)');

-- the star keys among the blocking keys above: the exact keys and the company words
UPDATE q.blocking SET star = true
 WHERE (ds, name) IN (SELECT 'febrl' || n, k FROM generate_series(1, 4) n, unnest(ARRAY['ssn', 'birth date']) k)
    OR (ds, name) IN (('fake1000', 'birth date'), ('fake1000', 'email key'), ('fodors_zagat', 'phone 7'),
                      ('chicago', 'phone 7'), ('chicago', 'email key'), ('patstat', 'company key'),
                      ('patstat', 'company words'), ('chicago', 'name words'), ('fodors_zagat', 'name words'));

-- evaluated sets: each dataset, and patstat again without its largest entity (same predictions)
CREATE TABLE q.evalset (eval_ds text PRIMARY KEY, ds text, ord numeric, label text);
INSERT INTO q.evalset SELECT ds, ds, ord, label FROM q.setup;
INSERT INTO q.evalset VALUES ('patstat_rest', 'patstat', 8.5, 'patstat w/o largest entity');
