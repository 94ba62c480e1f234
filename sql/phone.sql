-- Phone normalizer: table-driven cases across regions, then errors and edge cases.
SET client_min_messages = warning;

CREATE TEMP TABLE phone_cases (id serial, raw text, region text, expected text);
INSERT INTO phone_cases (raw, region, expected) VALUES
-- Russia and Kazakhstan: trunk prefix 8, old international prefix 810
('8 (912) 345-67-89', 'RU', '+79123456789'),
('+7 912 345 67 89', 'RU', '+79123456789'),
('89123456789', 'RU', '+79123456789'),
('+79123456789', 'RU', '+79123456789'),
('7 912 345 67 89', 'RU', '+79123456789'),
('912 345 67 89', 'RU', '+79123456789'),
('+7(912)345-67-89', 'US', '+79123456789'),
('8-800-555-35-35', 'RU', '+78005553535'),
('8 (495) 123-45-67 доб. 123', 'RU', '+74951234567'),
('8 (495) 123-45-67, доб.7', 'RU', '+74951234567'),
('810 44 20 7946 0958', 'RU', '+442079460958'),
('8.912.345.67.89', 'ru', '+79123456789'),
('tel:+7-912-345-67-89', 'RU', '+79123456789'),
('８ (９１２) ３４５-６７-８９', 'RU', '+79123456789'),
('+٧ ٩١٢ ٣٤٥ ٦٧ ٨٩', 'RU', '+79123456789'),
(U&'+7\00A0912\2011345\201367\200B89', 'RU', '+79123456789'),
('8 727 250 00 00', 'KZ', '+77272500000'),
('+7 (727) 250-00-00', 'RU', '+77272500000'),
('8 (912) 345-67-8', 'RU', NULL),
('+7 912 345 67 89 00', 'RU', NULL),
('12345', 'RU', NULL),
-- North America (NANP): trunk 1, international prefix 011
('(212) 555-0123', 'US', '+12125550123'),
('212.555.0123', 'US', '+12125550123'),
('1-212-555-0123', 'US', '+12125550123'),
('1 (212) 555-0123', 'US', '+12125550123'),
('+1 212 555 0123', 'RU', '+12125550123'),
('(212) 555-0123 ext. 45', 'US', '+12125550123'),
('212-555-0123 x45', 'US', '+12125550123'),
('011 44 20 7946 0958', 'US', '+442079460958'),
('(416) 555-0199', 'CA', '+14165550199'),
('(012) 555-0123', 'US', NULL),
('555-0123', 'US', NULL),
-- United Kingdom, Germany, France, Italy
('020 7946 0958', 'GB', '+442079460958'),
('+44 (0)20 7946 0958', 'GB', '+442079460958'),
('+44 (0)20 7946 0958', 'US', '+442079460958'),
('07700 900123', 'GB', '+447700900123'),
('00 44 7700 900123', 'DE', '+447700900123'),
('030 123456', 'DE', '+4930123456'),
('+49 (0)30 1234567', 'DE', '+49301234567'),
('0049 30 1234567', 'FR', '+49301234567'),
('0171 1234567', 'DE', '+491711234567'),
('01 23 45 67 89', 'FR', '+33123456789'),
('+33 6 12 34 56 78', 'FR', '+33612345678'),
('06.12.34.56.78', 'FR', '+33612345678'),
('06 1234 5678', 'IT', '+390612345678'),
('+39 06 1234 5678', 'IT', '+390612345678'),
('+39 347 123 4567', 'IT', '+393471234567'),
-- China: trunk 0, extensions written 转
('138 0013 8000', 'CN', '+8613800138000'),
('+86 138-0013-8000', 'CN', '+8613800138000'),
('0086 138 0013 8000', 'RU', '+8613800138000'),
('010 1234 5678', 'CN', '+861012345678'),
('(010) 1234-5678 转 8', 'CN', '+861012345678'),
('１３８００１３８０００', 'CN', '+8613800138000'),
-- India, Brazil, Japan
('09876543210', 'IN', '+919876543210'),
('+91 98765 43210', 'IN', '+919876543210'),
('98765-43210', 'IN', '+919876543210'),
('+९१ ९८७६५ ४३२१०', 'IN', '+919876543210'),
('(11) 91234-5678', 'BR', '+5511912345678'),
('+55 11 91234-5678', 'BR', '+5511912345678'),
('(21) 2345-6789', 'BR', '+552123456789'),
('03-1234-5678', 'JP', '+81312345678'),
('090-1234-5678', 'JP', '+819012345678'),
-- no default region
('+7 912 345 67 89', 'ZZ', '+79123456789'),
('8 912 345 67 89', 'ZZ', NULL),
-- not phone numbers
('hello', 'RU', NULL),
('ivan@mail.ru', 'RU', NULL),
('', 'RU', NULL),
('   ', 'RU', NULL),
('+', 'RU', NULL),
('+-()', 'RU', NULL),
('+999 123 456 789', 'RU', NULL),
('+28 1234 5678', 'RU', NULL),
('call me maybe 8 912 345 67 89', 'RU', NULL);

-- every case, as computed
SELECT id, raw, region, crmdedup.phone_e164(raw, region) AS e164
  FROM phone_cases ORDER BY id;

-- cases that disagree with the expectation (none)
SELECT id, raw, region, expected, crmdedup.phone_e164(raw, region) AS got
  FROM phone_cases
 WHERE crmdedup.phone_e164(raw, region) IS DISTINCT FROM expected;

SELECT count(*) AS cases FROM phone_cases;

-- extensions
SELECT raw, crmdedup.phone_extension(raw) AS ext
  FROM (VALUES ('8 (495) 123-45-67 доб. 123'), ('8 (495) 123-45-67 доб.7'), ('212-555-0123 x45'),
               ('(212) 555-0123 ext. 45'), ('+1 212 555 0123 ext 7'), ('020 7946 0958 extension 12'),
               ('(010) 1234-5678 转 8'), ('010 1234 5678 分机 88'), ('+7 912 345 67 89'),
               ('+7 495 123 45 67 вн. 4')) AS t(raw);

-- why a number was rejected
SELECT raw, region, (p).*
  FROM (SELECT raw, region, crmdedup.phone_parse(raw, region) AS p
          FROM (VALUES ('8 (912) 345-67-89 доб. 5', 'RU'), ('8 (912) 345-67-8', 'RU'),
                       ('+7 912 345 67 89 00', 'RU'), ('+999 123 456 789', 'RU'),
                       ('8 912 345 67 89', 'ZZ'), ('hello', 'RU'), ('', 'RU'),
                       ('+7 727 250 00 00', 'ZZ'), ('(416) 555-0199', 'CA')) AS t(raw, region)) AS s;

-- an unknown region is an error in the call, not in the data
SELECT crmdedup.phone_e164('8 912 345 67 89', 'XX');
SELECT crmdedup.phone_e164('8 912 345 67 89', 'Russia');
SELECT crmdedup.phone_e164('8 912 345 67 89', '');
SELECT crmdedup.phone_parse('8 912 345 67 89', 'R');

-- STRICT: NULL in, NULL out
SELECT crmdedup.phone_e164(NULL, 'RU') IS NULL AS null_raw, crmdedup.phone_e164('1', NULL) IS NULL AS null_region;

-- long and hostile input never errors and is not a phone
SELECT crmdedup.phone_e164(repeat('9', 100000), 'RU') IS NULL AS long_digits,
       crmdedup.phone_e164(repeat('+7 912 ', 20000), 'RU') IS NULL AS long_text,
       crmdedup.phone_e164('8 912' || repeat(U&'\0301', 50000) || ' 345 67 89', 'RU') IS NULL AS marks,
       crmdedup.phone_extension(repeat('x', 100000)) IS NULL AS long_ext;

-- the normalized value can back a unique index on raw text
CREATE TEMP TABLE phones (raw text);
CREATE UNIQUE INDEX ON phones (crmdedup.phone_e164(raw, 'RU'));
INSERT INTO phones VALUES ('8 (912) 345-67-89');
INSERT INTO phones VALUES ('+7 912 345 67 89');
INSERT INTO phones VALUES ('not a phone'), ('also not a phone');
SELECT count(*) FROM phones;
