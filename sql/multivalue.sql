-- Rows sharing any normalized phone or email of a text[] or jsonb list, through GIN.
CREATE TABLE mv_contacts (id int PRIMARY KEY, phones text[], emails jsonb);
INSERT INTO mv_contacts VALUES
(1, '{"8 (912) 345-67-89", "+7 495 123 45 67"}', '["Ivan.Petrov@gmail.com", {"email": "ivan@work.ru"}]'),
(2, '{"+1 212 555 0123"}', '[{"email": "j.smith@outlook.com", "kind": "work"}]'),
(3, '{"not a phone", null, "+7 912 345 67 89"}', '["ivanpetrov+crm@googlemail.com"]'),
(4, '{}', '[]'),
(5, NULL, NULL);
INSERT INTO mv_contacts
SELECT 100 + g, ARRAY[format('+7 9%s %s %s %s', lpad((g % 100)::text, 2, '0'), lpad((g % 997)::text, 3, '0'),
                             lpad((g % 89)::text, 2, '0'), lpad((g % 83)::text, 2, '0'))],
       jsonb_build_array(format('user%s@example.com', g))
  FROM generate_series(1, 2000) g;

SELECT id, crmdedup.phone_keys(phones, 'RU') AS phones, crmdedup.email_keys(emails) AS emails
  FROM mv_contacts WHERE id < 100 ORDER BY id;

CREATE INDEX mv_phone_keys ON mv_contacts USING gin (crmdedup.phone_keys(phones, 'RU'));
CREATE INDEX mv_email_keys ON mv_contacts USING gin (crmdedup.email_keys(emails));
ANALYZE mv_contacts;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM mv_contacts
 WHERE crmdedup.phone_keys(phones, 'RU') && crmdedup.phone_keys(ARRAY['89123456789'], 'RU');
SELECT id FROM mv_contacts
 WHERE crmdedup.phone_keys(phones, 'RU') && crmdedup.phone_keys(ARRAY['89123456789'], 'RU') ORDER BY id;
SELECT id FROM mv_contacts
 WHERE crmdedup.email_keys(emails) && crmdedup.email_keys('["IVAN.PETROV@googlemail.com"]'::jsonb) ORDER BY id;

-- every pair of rows sharing a phone, through the index
SELECT a.id, b.id
  FROM mv_contacts a JOIN mv_contacts b
    ON crmdedup.phone_keys(a.phones, 'RU') && crmdedup.phone_keys(b.phones, 'RU') AND a.id < b.id
 WHERE a.id < 100;
RESET enable_seqscan;

-- the same answers without the index
SELECT count(*) FROM mv_contacts
 WHERE crmdedup.phone_keys(phones, 'RU') && crmdedup.phone_keys(ARRAY['89123456789'], 'RU');
DROP TABLE mv_contacts;
