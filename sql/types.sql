-- crmdedup.phone and crmdedup.email: types whose equality is the normalized equality.
SET search_path = public, crmdedup;
LOAD 'crmdedup';

SELECT opc.opcname, am.amname, amvalidate(opc.oid)
  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
 WHERE opc.opcnamespace = 'crmdedup'::regnamespace ORDER BY 1;

-- input takes every format; numbers without a country code need crmdedup.default_region
SHOW crmdedup.default_region;
SELECT '+7 912 345 67 89'::phone, '00 44 20 7946 0958'::phone, 'tel:+1-212-555-0123'::phone;
SELECT '8 (912) 345-67-89'::phone;
SET crmdedup.default_region = 'RU';
SELECT '8 (912) 345-67-89'::phone, '912 345 67 89'::phone, '8 (495) 123-45-67 доб. 12'::phone;
SELECT raw::phone = '+79123456789'::phone AS same
  FROM (VALUES ('8 (912) 345-67-89'), ('+7 912 345 67 89'), ('89123456789'), ('８ (９１２) ３４５-６７-８９'),
               ('+7(912)345-67-89'), ('7 912 345 67 89')) AS t(raw);
SELECT 'hello'::phone;
SELECT '8 (912) 345-67-8'::phone;
SET crmdedup.default_region = 'Russia';
SET crmdedup.default_region = 'us';
SELECT '(212) 555-0123'::phone;
SET crmdedup.default_region = 'RU';

-- an explicit region does not depend on the setting
SELECT crmdedup.to_phone('(212) 555-0123', 'US'), crmdedup.to_phone('138 0013 8000', 'CN');
SELECT crmdedup.to_phone('12', 'RU');
SELECT crmdedup.country_code('+79123456789'), crmdedup.country_code('+8613800138000'),
       '+79123456789'::phone::text, length('+79123456789'::phone::text);

-- a unique column refuses every other spelling of the same number with PostgreSQL's own 23505
CREATE TABLE type_contacts (id int PRIMARY KEY, phone phone UNIQUE, email email UNIQUE);
INSERT INTO type_contacts VALUES (1, '8 (912) 345-67-89', 'Ivan.Petrov@gmail.com');
INSERT INTO type_contacts VALUES (2, '+7 912 345 67 89', NULL);
INSERT INTO type_contacts VALUES (3, '8-912-345-67-89', NULL);
INSERT INTO type_contacts VALUES (4, '+79123456789', NULL);
INSERT INTO type_contacts VALUES (5, NULL, 'ivanpetrov+crm@googlemail.com');
INSERT INTO type_contacts VALUES (6, NULL, ' IVAN.PETROV@GMAIL.COM ');
INSERT INTO type_contacts VALUES (7, NULL, 'Иван <ivan.petrov@gmail.com>');
\set VERBOSITY verbose
INSERT INTO type_contacts VALUES (8, '89123456789', NULL);
\set VERBOSITY default
INSERT INTO type_contacts VALUES (9, '+1 212 555 0123', 'j.smith@outlook.com'), (10, '+86 138 0013 8000', 'wangxm@qq.com');

-- ON CONFLICT on the normalized value
INSERT INTO type_contacts VALUES (11, '+7 (912) 345-67-89', NULL)
    ON CONFLICT (phone) DO UPDATE SET email = 'updated@example.com' RETURNING id, phone, email;
INSERT INTO type_contacts VALUES (12, '8 912 345 67 89', NULL) ON CONFLICT (phone) DO NOTHING;
SELECT id, phone, email, crmdedup.canonical(email) FROM type_contacts ORDER BY id;

-- the email prints the deliverable address; it compares by key
SELECT 'Ivan.Petrov+crm@GoogleMail.com'::email AS address,
       crmdedup.canonical('Ivan.Petrov+crm@GoogleMail.com'::email) AS key,
       'Ivan.Petrov+crm@GoogleMail.com'::email = 'ivanpetrov@gmail.com'::email AS same_mailbox,
       'a@x.ru'::email < 'b@x.ru'::email AS ordered;
SELECT 'not an email'::email;
SELECT 'ivan@@mail.ru'::email;

-- joins, GROUP BY, DISTINCT, hash joins and index scans all use the normalized value
CREATE TABLE type_calls (phone phone, at int);
INSERT INTO type_calls VALUES ('8 (912) 345-67-89', 1), ('+79123456789', 2), ('+1 (212) 555-0123', 3),
                              ('+44 20 7946 0958', 4);
ANALYZE type_contacts, type_calls;
SELECT c.id, count(*) FROM type_calls k JOIN type_contacts c ON c.phone = k.phone GROUP BY c.id ORDER BY c.id;
SELECT phone, count(*) FROM type_calls GROUP BY phone ORDER BY phone;
SELECT count(DISTINCT phone) FROM type_calls;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT * FROM type_calls k JOIN type_contacts c ON c.phone = k.phone;
SELECT c.id, k.at FROM type_calls k JOIN type_contacts c ON c.phone = k.phone ORDER BY k.at;
RESET enable_mergejoin; RESET enable_nestloop;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM type_contacts WHERE phone = '8 (912) 345-67-89';
SELECT id FROM type_contacts WHERE phone = '8 (912) 345-67-89';
EXPLAIN (COSTS OFF) SELECT id FROM type_contacts WHERE email = 'J.Smith+news@Outlook.com';
SELECT id FROM type_contacts WHERE email = 'J.Smith+news@Outlook.com';
RESET enable_seqscan;
CREATE INDEX ON type_calls USING hash (phone);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT at FROM type_calls WHERE phone = '8 912 345 67 89';
SELECT at FROM type_calls WHERE phone = '8 912 345 67 89' ORDER BY at;
RESET enable_seqscan;

-- binary send/receive round trip
COPY type_contacts TO '/tmp/crmdedup_types.bin' (FORMAT binary);
CREATE TABLE type_contacts_copy (LIKE type_contacts);
COPY type_contacts_copy FROM '/tmp/crmdedup_types.bin' (FORMAT binary);
SELECT count(*) AS rows, count(*) FILTER (WHERE a.phone IS NOT DISTINCT FROM b.phone
                                          AND a.email::text IS NOT DISTINCT FROM b.email::text) AS identical
  FROM type_contacts a JOIN type_contacts_copy b USING (id);
-- a binary phone is the int8 of its digits; one that the text input could not produce
-- (not E.164, unknown country code, 0, negative) is refused as a binary-format error
CREATE TABLE type_phone_bin (phone crmdedup.phone);
\set VERBOSITY default
\set SHOW_CONTEXT never
COPY (SELECT 79123456789::int8) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY type_phone_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
SELECT phone FROM type_phone_bin;
\set VERBOSITY sqlstate
COPY (SELECT 1::int8) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY type_phone_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY (SELECT 9991234567::int8) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY type_phone_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY (SELECT -79123456789::int8) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY type_phone_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY (SELECT 1000000000000000::int8) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
COPY type_phone_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
-- an email's binary form is its address as text, parsed like text input
COPY (SELECT 'not an address'::text) TO '/tmp/crmdedup_phone.bin' (FORMAT binary);
CREATE TABLE type_email_bin (email crmdedup.email);
COPY type_email_bin FROM '/tmp/crmdedup_phone.bin' (FORMAT binary);
\set VERBOSITY default
\set SHOW_CONTEXT errors
SELECT count(*) FROM type_phone_bin;
DROP TABLE type_phone_bin, type_email_bin;

-- migrating a text column that already holds duplicates: find them first
CREATE TABLE legacy (id int PRIMARY KEY, phone text);
INSERT INTO legacy VALUES (1, '8 (912) 345-67-89'), (2, '+7 912 345 67 89'), (3, '+1 212 555 0123'),
                          (4, 'unknown'), (5, NULL);
SELECT crmdedup.phone_e164(phone, 'RU') AS e164, array_agg(id ORDER BY id) AS ids
  FROM legacy GROUP BY 1 HAVING count(*) > 1 AND crmdedup.phone_e164(phone, 'RU') IS NOT NULL;
SELECT id, phone FROM legacy WHERE phone IS NOT NULL AND crmdedup.phone_e164(phone, 'RU') IS NULL;
ALTER TABLE legacy ALTER COLUMN phone TYPE crmdedup.phone USING crmdedup.to_phone(phone, 'RU');
-- keep what does not parse beside the column rather than losing it
ALTER TABLE legacy ADD COLUMN phone_unparsed text;
UPDATE legacy SET phone_unparsed = phone, phone = NULL
 WHERE phone IS NOT NULL AND crmdedup.phone_e164(phone, 'RU') IS NULL;
ALTER TABLE legacy ALTER COLUMN phone TYPE crmdedup.phone USING crmdedup.to_phone(phone, 'RU');
CREATE UNIQUE INDEX ON legacy (phone);
DELETE FROM legacy WHERE id = 2;
CREATE UNIQUE INDEX ON legacy (phone);
SELECT * FROM legacy ORDER BY id;

DROP TABLE type_contacts, type_contacts_copy, type_calls, legacy;
RESET crmdedup.default_region;
