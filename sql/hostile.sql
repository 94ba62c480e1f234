-- Hostile input reaching every normalizer: long strings, mark floods, invisible and bidi
-- characters, emoji, mixed scripts. Nothing may crash; limits raise clear errors.
SET client_min_messages = warning;

CREATE TEMP TABLE hostile (label text, raw text);
INSERT INTO hostile VALUES
('empty', ''),
('spaces', repeat(' ', 1000)),
('100 kB latin', repeat('Ivan Petrov ', 8534)),
('100 kB cyrillic', repeat('Пётр Щукин ', 5000)),
('100 kB han', repeat('王小明', 11000)),
('mark flood', 'a' || repeat(U&'\0301', 100000)),
('marks alone', repeat(U&'\0301\0308', 20000)),
('zero width', repeat(U&'\200B\200C\200D\FEFF', 1000)),
('bidi', U&'\202E\202D\2066\2067\2068\2069' || 'Ivan' || U&'\200F\200E'),
('emoji', '👩‍👩‍👧‍👦 🇷🇺 📞 ' || repeat('😀', 1000)),
('mixed scripts', 'Ivan Иван 王 Ἰωάννης محمد 김 ' || U&'\0301'),
('controls', E'Ivan\t\r\n\x01\x02\x7f Petrov'),
('private use', U&'\E000\F8FF' || 'Ivan'),
('noncharacters', U&'\FFFE\FFFF' || 'x'),
('digits of many scripts', '٠١٢٣٤٥٦٧٨٩ ०१२३४५६७८९ ０１２３４５６７８９'),
('garbage', E'\\x00\\xff<>@@@::;;%%%$$$###');

SELECT label,
       length(crmdedup.name_key(raw)) AS name_key_len,
       length(crmdedup.translit(raw)) AS translit_len,
       length(crmdedup.person_key(raw)) AS person_key_len,
       length(crmdedup.company_key(raw)) AS company_key_len,
       crmdedup.phone_e164(raw, 'RU') AS phone,
       crmdedup.email_key(raw) AS email
  FROM hostile ORDER BY label;

-- ASCII output of translit whatever the input
SELECT label FROM hostile
 WHERE crmdedup.translit(raw) !~ '^[a-z0-9 ]*$' OR crmdedup.person_key(raw) !~ '^[a-z0-9 ]*$';

-- inputs above the limit raise program_limit_exceeded rather than using unbounded memory
\set VERBOSITY terse
SELECT crmdedup.name_key(repeat('a', 2 * 1024 * 1024));
SELECT crmdedup.translit(repeat('щ', 600000));
\set VERBOSITY default
SELECT crmdedup.phone_e164(repeat('9', 2 * 1024 * 1024), 'RU') IS NULL AS phone_long,
       crmdedup.email_key(repeat('a', 2 * 1024 * 1024)) IS NULL AS email_long;

-- bytes that are not UTF-8 cannot reach the functions: the conversion rejects them
SELECT crmdedup.name_key(convert_from('\xd0'::bytea, 'UTF8'));
SELECT crmdedup.name_key(convert_from('\xc0af'::bytea, 'UTF8'));
-- but valid conversions from other encodings work
SELECT crmdedup.name_key(convert_from('\xcfe5f2f0'::bytea, 'WIN1251')) AS from_win1251;
