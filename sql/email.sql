-- Email normalizer: canonical address, provider rules, IDNA, rejects.
SET client_min_messages = warning;

CREATE TEMP TABLE email_cases (id serial, raw text, expected text);
INSERT INTO email_cases (raw, expected) VALUES
-- case, spaces, mailto:, display names
('ivan@mail.ru', 'ivan@mail.ru'),
('Ivan@Mail.RU', 'ivan@mail.ru'),
('  ivan@mail.ru  ', 'ivan@mail.ru'),
(U&'\00A0ivan@mail.ru\200B', 'ivan@mail.ru'),
('mailto:ivan@mail.ru', 'ivan@mail.ru'),
('MAILTO:ivan@mail.ru?subject=hello', 'ivan@mail.ru'),
('Иван Петров <ivan@mail.ru>', 'ivan@mail.ru'),
('"Petrov, Ivan" <Ivan@Example.COM>', 'ivan@example.com'),
('<ivan@mail.ru>', 'ivan@mail.ru'),
('petrov_i@mail.ru', 'petrov_i@mail.ru'),
('user+tag@mail.ru', 'user+tag@mail.ru'),
('o''brien@example.ie', 'o''brien@example.ie'),
-- Gmail: dots and +tags ignored, googlemail.com is gmail.com
('Ivan.Petrov@Gmail.com', 'ivanpetrov@gmail.com'),
('ivanpetrov@gmail.com', 'ivanpetrov@gmail.com'),
('ivan.petrov+crm@googlemail.com', 'ivanpetrov@gmail.com'),
('I.V.A.N@GoogleMail.com', 'ivan@gmail.com'),
('  IVAN.PETROV@GMAIL.COM ', 'ivanpetrov@gmail.com'),
-- Yandex: one mailbox under several domains, '.' and '-' equivalent, +tags
('ivan.petrov@yandex.ru', 'ivan-petrov@yandex.ru'),
('ivan-petrov@ya.ru', 'ivan-petrov@yandex.ru'),
('Ivan.Petrov@yandex.com', 'ivan-petrov@yandex.ru'),
('ivan.petrov+shop@yandex.ru', 'ivan-petrov@yandex.ru'),
-- Outlook family: +tags, dots are significant
('j.smith@outlook.com', 'j.smith@outlook.com'),
('j.smith+news@outlook.com', 'j.smith@outlook.com'),
('J.Smith+news@Hotmail.com', 'j.smith@hotmail.com'),
-- providers without such rules keep the local part
('john-doe@yahoo.com', 'john-doe@yahoo.com'),
('john.doe@yahoo.com', 'john.doe@yahoo.com'),
('wangxm@qq.com', 'wangxm@qq.com'),
('WangXM@163.com', 'wangxm@163.com'),
('ravi.kumar@rediffmail.com', 'ravi.kumar@rediffmail.com'),
('joao.silva@uol.com.br', 'joao.silva@uol.com.br'),
('hans.mueller@web.de', 'hans.mueller@web.de'),
('a@b.co', 'a@b.co'),
-- internationalized domains and local parts
('info@bücher.de', 'info@xn--bcher-kva.de'),
('Info@BÜCHER.DE', 'info@xn--bcher-kva.de'),
('иван@почта.рф', 'иван@xn--80a1acny.xn--p1ai'),
('ИВАН@ПОЧТА.РФ', 'иван@xn--80a1acny.xn--p1ai'),
('info@例子.中国', 'info@xn--fsqu00a.xn--fiqs8s'),
('info@xn--bcher-kva.de', 'info@xn--bcher-kva.de'),
-- not addresses
('ivan', NULL),
('ivan@', NULL),
('@mail.ru', NULL),
('ivan@@mail.ru', NULL),
('ivan@mail', NULL),
('ivan..petrov@mail.ru', NULL),
('.ivan@mail.ru', NULL),
('ivan.@mail.ru', NULL),
('ivan petrov@mail.ru', NULL),
('a@x.ru, b@y.ru', NULL),
('ivan@mail..ru', NULL),
('ivan@-mail.ru', NULL),
('ivan@mail.123', NULL),
('ivan@mail.ru@x.ru', NULL),
(repeat('a', 65) || '@mail.ru', NULL),
('ivan@' || repeat('a', 64) || '.ru', NULL),
('', NULL),
('   ', NULL),
('mailto:', NULL),
('Иван <>', NULL),
('ivan@mail.ru>', NULL),
('ivan<at>mail.ru', NULL);

SELECT id, raw, crmdedup.email_key(raw) AS key FROM email_cases ORDER BY id;

-- cases that disagree with the expectation (none)
SELECT id, raw, expected, crmdedup.email_key(raw) AS got
  FROM email_cases
 WHERE crmdedup.email_key(raw) IS DISTINCT FROM expected;

SELECT count(*) AS cases FROM email_cases;

-- the canonical address keeps what provider rules would drop
SELECT raw, crmdedup.email_normalize(raw) AS address, crmdedup.email_key(raw) AS key
  FROM (VALUES ('Ivan.Petrov+crm@GoogleMail.com'), ('Ivan.Petrov@yandex.com'), ('ivan+x@proton.me'),
               ('ivan@pm.me'), ('ivan+x@icloud.com'), ('ivan+x@fastmail.com')) AS t(raw);

-- why an address was rejected
SELECT raw, (p).*
  FROM (SELECT raw, crmdedup.email_parse(raw) AS p
          FROM (VALUES ('Ivan <Ivan.Petrov@Gmail.com>'), ('ivan'), ('ivan@mail'), ('   '),
                       (repeat('a', 65) || '@mail.ru'), ('ivan@xn--.ru')) AS t(raw)) AS s;

SELECT crmdedup.email_key(NULL) IS NULL AS strict;

-- hostile input: long, marks, controls
SELECT crmdedup.email_key(repeat('a', 100000) || '@mail.ru') IS NULL AS long_local,
       crmdedup.email_key('ivan@' || repeat('a.', 50000) || 'ru') IS NULL AS long_domain,
       crmdedup.email_key('iv' || repeat(U&'\0301', 10000) || 'an@mail.ru') IS NULL AS marks,
       crmdedup.email_key(U&'ivan\202E@mail.ru') IS NULL AS bidi;

-- a unique index on the key rejects the same mailbox written another way
CREATE TEMP TABLE emails (raw text);
CREATE UNIQUE INDEX ON emails (crmdedup.email_key(raw));
INSERT INTO emails VALUES ('ivan.petrov@gmail.com');
INSERT INTO emails VALUES ('IvanPetrov+promo@googlemail.com');
SELECT count(*) FROM emails;
