-- Match profiles and record scores that explain themselves.
SET extra_float_digits = 0;
SET client_min_messages = warning;

CREATE TABLE contacts (
    id bigint PRIMARY KEY,
    full_name text,
    phones text[],
    email text,
    company text,
    birth_date date,
    extra jsonb
);
CREATE TABLE contact_phones (contact_id bigint REFERENCES contacts, phone text);

INSERT INTO contacts VALUES
(1, 'Петров Иван', '{"8 (912) 345-67-89"}', 'ivan.petrov@gmail.com', 'ООО «Ромашка»', '1980-05-17', NULL),
(2, 'Ivan Petrov', '{"+7 912 345 67 89", "+7 495 111 22 33"}', 'IvanPetrov+crm@googlemail.com', 'Romashka LLC', '1980-05-17', NULL),
(3, 'Anna Smith', '{"+79123456789"}', NULL, NULL, NULL, NULL),
(4, 'Щукин Пётр', NULL, NULL, NULL, '1975-01-02', NULL),
(5, 'Petr Shchukin', NULL, NULL, NULL, '1975-02-01', NULL),
(6, 'Иван Петров', NULL, NULL, NULL, NULL, NULL),
(7, 'Саша Кузнецов', '{"+7 903 000 11 22"}', NULL, NULL, NULL, NULL),
(8, 'Александр Кузнецов', '{"8 903 000 11 22"}', NULL, NULL, NULL, NULL);
INSERT INTO contacts (id, full_name) SELECT 100 + g, 'Иван Петров' FROM generate_series(1, 40) g;
INSERT INTO contact_phones VALUES (4, '+7 916 555 44 33'), (5, '8 916 555 44 33');

SELECT crmdedup.create_profile('contacts', 'contacts', '{
  "region": "RU",
  "fields": {
    "full_name": "person_name",
    "phones": "phone",
    "email": "email",
    "company": "company",
    "birth_date": "birth_date",
    "child_phones": {"role": "phone", "from": {"table": "contact_phones", "column": "phone", "key": "contact_id"}}
  }
}');

SELECT name, table_oid, compiled->>'id' AS id, jsonb_array_length(compiled->'fields') AS fields,
       compiled->'same' AS same, compiled->'maybe' AS maybe
  FROM crmdedup.profiles;

-- a bad spec is rejected with a message that names the bad key
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"full_name": "person"}}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"feilds": {}}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"nope": "phone"}}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"full_name": {"role": "person_name", "wieght": 2}}}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"phones": "phone"}, "region": "XX"}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"phones": "phone"}, "thresholds": {"same": 0.3, "maybe": 0.8}}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"phones": {"role": "phone", "levels": [{"min": 0.5, "m": 0.9, "u": 0.1}, {"min": 0.9, "m": 0.05, "u": 0.1}]}}}');
SELECT crmdedup.create_profile('bad', 'contacts', '[1, 2]');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"phones": "phone"}, "survivor": "tallest"}');
SELECT crmdedup.create_profile('bad', 'contacts', '{"fields": {"x": {"role": "phone", "from": {"table": "contact_phones"}}}}');
SELECT crmdedup.create_profile('contacts', 'contacts', '{"fields": {"phones": "phone"}}');
SELECT crmdedup.create_profile('deep', 'contacts', (repeat('{"a":', 1000) || '1' || repeat('}', 1000))::jsonb);

-- scores in [0,1] with reasons; before analyze, default u
SELECT a, b, round(score::numeric, 4) AS score, decision
  FROM (VALUES (1, 2), (1, 3), (4, 5), (7, 8), (1, 6), (3, 4)) AS p(a, b),
       LATERAL crmdedup.match('contacts', a, b) m;

SELECT jsonb_pretty(explanation) FROM crmdedup.match('contacts', 1, 3);

-- rows work as well as ids
SELECT round(m.score::numeric, 4) AS score, m.decision
  FROM contacts a, contacts b, LATERAL crmdedup.match('contacts', a, b) m
 WHERE a.id = 4 AND b.id = 5;

-- term frequencies: agreeing on the common "Иван Петров" is weaker evidence than on "Пётр Щукин"
SELECT crmdedup.analyze('contacts');
SELECT field, term, round(freq::numeric, 3) AS freq FROM crmdedup.term_stats ORDER BY freq DESC, term LIMIT 4;
SELECT a, b, (SELECT f->>'weight' FROM jsonb_array_elements(explanation->'fields') f WHERE f->>'field' = 'full_name') AS name_weight
  FROM (VALUES (1, 6), (4, 5)) AS p(a, b), LATERAL crmdedup.match('contacts', a, b) m;

-- missing values neither help nor hurt
SELECT (SELECT count(*) FROM jsonb_array_elements(explanation->'fields') f WHERE f->>'level' = 'missing') AS missing,
       (SELECT sum((f->>'weight')::float8) FROM jsonb_array_elements(explanation->'fields') f WHERE f->>'level' = 'missing') AS their_weight
  FROM crmdedup.match('contacts', 1, 6);

SELECT * FROM crmdedup.match('contacts', 1, 999);
SELECT * FROM crmdedup.match('nope', 1, 2);

-- SQL built from a profile names its child table through regclass and its key type through
-- regtype: a compiled profile edited by hand cannot smuggle SQL into match() or analyze()
CREATE TABLE profile_injected (x int);
SELECT compiled AS saved_compiled FROM crmdedup.profiles WHERE name = 'contacts' \gset
UPDATE crmdedup.profiles
   SET compiled = jsonb_set(compiled, '{fields}',
       (SELECT jsonb_agg(CASE WHEN f ? 'from'
                              THEN jsonb_set(f, '{from,table}', '"contact_phones p; DROP TABLE profile_injected; --"')
                              ELSE f END ORDER BY n)
          FROM jsonb_array_elements(compiled->'fields') WITH ORDINALITY AS e(f, n)))
 WHERE name = 'contacts';
SELECT * FROM crmdedup.match('contacts', 1, 6);
SELECT crmdedup.analyze('contacts');
SELECT count(*) FROM crmdedup.find_duplicates('contacts');
UPDATE crmdedup.profiles
   SET compiled = jsonb_set(:'saved_compiled'::jsonb, '{fields}',
       (SELECT jsonb_agg(CASE WHEN f ? 'from'
                              THEN jsonb_set(f, '{from,key_type}', '"int; DROP TABLE profile_injected; --"')
                              ELSE f END ORDER BY n)
          FROM jsonb_array_elements(:'saved_compiled'::jsonb->'fields') WITH ORDINALITY AS e(f, n)))
 WHERE name = 'contacts';
SELECT * FROM crmdedup.match('contacts', 1, 6);
UPDATE crmdedup.profiles SET compiled = :'saved_compiled'::jsonb WHERE name = 'contacts';
SELECT count(*) AS still_there FROM profile_injected;
DROP TABLE profile_injected;

-- alter and drop
SELECT crmdedup.alter_profile('contacts', '{"region": "RU", "fields": {"full_name": "person_name"}, "thresholds": {"same": 0.8, "maybe": 0.4}}');
SELECT jsonb_array_length(compiled->'fields') AS fields, compiled->'same' AS same FROM crmdedup.profiles;
SELECT crmdedup.alter_profile('nope', '{}');

-- only the owner of the profiled table may change its profile
CREATE ROLE crmdedup_profile_user;
GRANT SELECT ON contacts TO crmdedup_profile_user;
SET ROLE crmdedup_profile_user;
SELECT crmdedup.create_profile('mine', 'contacts', '{"fields": {"full_name": "person_name"}}');
SELECT crmdedup.drop_profile('contacts');
SELECT count(*) FROM crmdedup.profiles;
RESET ROLE;
REVOKE ALL ON contacts FROM crmdedup_profile_user;
DROP ROLE crmdedup_profile_user;

-- a term frequency is a share of rows in (0, 1]: anything else is rejected (23514); 1 and
-- the smallest positive share are accepted
SET client_min_messages = notice;
DO $$
DECLARE
    v float8;
    c text;
BEGIN
    FOREACH v IN ARRAY ARRAY[0, -0.25, 1.5, 'NaN', 'Infinity', '-Infinity', 1, 1e-300]::float8[] LOOP
        BEGIN
            INSERT INTO crmdedup.term_stats (profile, field, term, freq) VALUES ('contacts', 'full_name', 'zz', v);
            RAISE NOTICE '% accepted', (SELECT freq FROM crmdedup.term_stats WHERE term = 'zz');
        EXCEPTION WHEN check_violation THEN
            GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
            RAISE NOTICE '% rejected: % %', v, SQLSTATE, c;
        END;
        DELETE FROM crmdedup.term_stats WHERE profile = 'contacts' AND term = 'zz';
    END LOOP;
    -- and an update of a frequency analyze() gathered
    BEGIN
        UPDATE crmdedup.term_stats SET freq = freq * 1000 WHERE profile = 'contacts';
        RAISE NOTICE 'update accepted';
    EXCEPTION WHEN check_violation THEN
        GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
        RAISE NOTICE 'update rejected: % %', SQLSTATE, c;
    END;
END $$;
SET client_min_messages = warning;
-- analyze() caps a share at 1: one contact holding a mailbox name at four domains in a child
-- table counts three other mailboxes against one row
CREATE TABLE one_contact (id bigint PRIMARY KEY, full_name text);
CREATE TABLE one_contact_mails (contact_id bigint REFERENCES one_contact, email text);
INSERT INTO one_contact VALUES (1, 'Ivan Petrov');
INSERT INTO one_contact_mails VALUES (1, 'ivan.petrov@a.ru'), (1, 'ivan.petrov@b.ru'), (1, 'ivan.petrov@c.ru'), (1, 'ivan.petrov@d.ru');
SELECT crmdedup.create_profile('one', 'one_contact', '{"fields": {"full_name": "person_name",
  "mail": {"role": "email", "from": {"table": "one_contact_mails", "column": "email", "key": "contact_id"}}}}');
SELECT crmdedup.analyze('one');
SELECT field, term, freq FROM crmdedup.term_stats WHERE profile = 'one' ORDER BY field, term;
SELECT crmdedup.drop_profile('one');
DROP TABLE one_contact_mails, one_contact;

SELECT crmdedup.drop_profile('contacts');
SELECT count(*) AS profiles, (SELECT count(*) FROM crmdedup.term_stats) AS term_stats FROM crmdedup.profiles;
SELECT crmdedup.drop_profile('contacts');
DROP TABLE contact_phones, contacts;
