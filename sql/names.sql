-- Name keys: name_key (script kept), translit, person_key (order-free), company_key.
SET client_min_messages = warning;

CREATE TEMP TABLE name_cases (id serial, fn text, raw text, expected text);
INSERT INTO name_cases (fn, raw, expected) VALUES
('name_key', 'Пётр  ЩУКИН', 'петр щукин'),
('name_key', 'Ёлкина Алёна', 'елкина алена'),
('name_key', 'José Müller', 'jose muller'),
('name_key', '  Ivan   Petrov  ', 'ivan petrov'),
('name_key', 'IVAN PETROV', 'ivan petrov'),
('name_key', 'Анна-Мария', 'анна мария'),
('name_key', 'O''Brien', 'o brien'),
('name_key', 'ＩＶＡＮ　ＰＥＴＲＯＶ', 'ivan petrov'),
('name_key', 'Straße', 'strasse'),
('name_key', 'François Lefèvre', 'francois lefevre'),
('name_key', 'Zoë Saldaña', 'zoe saldana'),
('name_key', '王小明', '王小明'),
('name_key', 'Петров, Иван (VIP)', 'петров иван vip'),
('name_key', 'Ivan' || U&'\200B' || ' Petrov', 'ivan petrov'),
('name_key', U&'\202EIvan Petrov\202C', 'ivan petrov'),
('name_key', 'e' || U&'\0301' || 'mile', 'emile'),
('name_key', 'Ἀλέξανδρος', 'αλεξανδροσ'),
('name_key', '  ...  ', NULL),
('name_key', '', NULL),
('translit', 'Пётр Щукин', 'petr shchukin'),
('translit', 'Ромашка', 'romashka'),
('translit', 'Юлия Чайковская', 'yuliya chaykovskaya'),
('translit', 'Харитонов', 'kharitonov'),
('translit', 'Жанна Цой', 'zhanna tsoy'),
('translit', 'Эдуард', 'eduard'),
('translit', 'Объедков', 'obyedkov'),
('translit', 'Щукин', 'shchukin'),
('translit', 'ЁЖИКОВ', 'ezhikov'),
('translit', 'Олег Шевчук', 'oleg shevchuk'),
('translit', 'Ivan Petrov', 'ivan petrov'),
('translit', 'Müller', 'muller'),
('translit', '王小明', 'wang xiao ming'),
('translit', 'Иван Smith 王', 'ivan smith wang'),
('translit', '北京', 'bei jing'),
('translit', '..', NULL),
('person_key', 'Петров Иван', 'ivan petrov'),
('person_key', 'Иван Петров', 'ivan petrov'),
('person_key', 'Ivan Petrov', 'ivan petrov'),
('person_key', 'PETROV,  Ivan', 'ivan petrov'),
('person_key', 'Пётр Щукин', 'petr shchukin'),
('person_key', 'Shchukin Petr', 'petr shchukin'),
('person_key', '王小明', 'wang xiaoming'),
('person_key', 'Wang Xiaoming', 'wang xiaoming'),
('person_key', 'Xiaoming Wang', 'wang xiaoming'),
('person_key', 'José Müller', 'jose muller'),
('company_key', 'ООО «Ромашка»', 'ромашка'),
('company_key', 'ООО "Ромашка"', 'ромашка'),
('company_key', 'Общество с ограниченной ответственностью «Ромашка»', 'ромашка'),
('company_key', 'АО „Вектор“', 'вектор'),
('company_key', 'ПАО Сбербанк', 'сбербанк'),
('company_key', 'ИП Иванов', 'иванов'),
('company_key', 'Romashka LLC', 'romashka'),
('company_key', 'Romashka, L.L.C.', 'romashka'),
('company_key', 'Acme Inc.', 'acme'),
('company_key', 'ACME, Inc', 'acme'),
('company_key', 'Acme Corporation', 'acme'),
('company_key', 'Siemens AG', 'siemens'),
('company_key', 'Müller GmbH', 'muller'),
('company_key', 'Tesco PLC', 'tesco'),
('company_key', 'Infosys Pvt. Ltd.', 'infosys'),
('company_key', '北京小米科技有限责任公司', '北京小米科技'),
('company_key', 'ООО', 'ооо'),
('company_key', 'Unilever Naamloze Vennootschap', 'unilever'),
('company_key', 'UNILEVER N.V., ROTTERDAM', 'unilever'),
('company_key', 'Alcatel N.V., Amsterdam, NL', 'alcatel'),
('company_key', 'Unilever N.V. (NL)', 'unilever'),
('company_key', 'Philips'' (N.V.) Gloeilampenfabrieken', 'philips gloeilampenfabrieken'),
('company_key', 'Acme, Springfield', 'acme springfield'),
('company_key', 'Unilever P.L.C.', 'unilever'),
('company_key', 'Müller G.m.b.H.', 'muller'),
('company_key', 'D.S.M. IP Assets B.V.', 'dsm ip assets'),
('company_key', 'D.S.M. I.P. Assets B.V.', 'dsm ip assets'),
('company_key', 'Rossi e C.', 'rossi e c'),
('company_key', 'U. S. Philips Corporation', 'us philips'),
('company_key', 'Toyota Motor Sales, U.S.A., Inc.', 'toyota motor sales usa'),
('company_key', 'Nestlé S.A. (U.S.A.)', 'nestle'),
('company_key', 'О.О.О. «Ромашка»', 'ромашка'),
('company_key', 'Type X G.m.b.H.', 'type x'),
('company_key', 'Plan B A.G.', 'plan b'),
('company_key', 'A.G. Barr plc', 'ag barr'),
('company_key', 'E.G. Smith Ltd', 'eg smith'),
('company_key', 'A.B. Ltd', 'ab'),
('company_key', 'A B N.V.', 'ab'),
('company_key', 'Novak s. r. o.', 'novak'),
('company_key', 'Novak spol. s r.o.', 'novak'),
('company_key', 'Petrol d.o.o.', 'petrol'),
('company_key', '١ ٢ Foo', '١ ٢ foo'),
('company_key', '«»', NULL);

SELECT id, fn, raw,
       CASE fn WHEN 'name_key' THEN crmdedup.name_key(raw)
               WHEN 'translit' THEN crmdedup.translit(raw)
               WHEN 'person_key' THEN crmdedup.person_key(raw)
               WHEN 'company_key' THEN crmdedup.company_key(raw) END AS got
  FROM name_cases ORDER BY id;

-- cases that disagree with the expectation (none)
SELECT id, fn, raw, expected, got
  FROM (SELECT *, CASE fn WHEN 'name_key' THEN crmdedup.name_key(raw)
                          WHEN 'translit' THEN crmdedup.translit(raw)
                          WHEN 'person_key' THEN crmdedup.person_key(raw)
                          WHEN 'company_key' THEN crmdedup.company_key(raw) END AS got
          FROM name_cases) AS s
 WHERE got IS DISTINCT FROM expected;

SELECT fn, count(*) AS cases FROM name_cases GROUP BY fn ORDER BY fn;

-- the same person across scripts and word order
SELECT crmdedup.person_key('Петров Иван') = crmdedup.person_key('Ivan Petrov') AS ru_en,
       crmdedup.person_key('王小明') = crmdedup.person_key('Xiaoming Wang') AS zh_en,
       crmdedup.company_key('ООО «Ромашка»') = crmdedup.company_key('ооо ромашка') AS company;

-- other scripts go through ICU and come out as ASCII words
SELECT raw, crmdedup.translit(raw) ~ '^[a-z0-9]+( [a-z0-9]+)*$' AS ascii_words
  FROM (VALUES ('Ιωάννης Παπαδόπουλος'), ('김민준'), ('さとう はなこ'), ('محمد علي'), ('דוד כהן'),
               ('ნინო'), ('Աննա'), ('สมชาย'), ('राहुल शर्मा'), ('Олександр Ґудзь'), ('Қайрат Әлиев')) AS t(raw);

SELECT crmdedup.name_key(NULL) IS NULL AND crmdedup.translit(NULL) IS NULL
       AND crmdedup.person_key(NULL) IS NULL AND crmdedup.company_key(NULL) IS NULL AS strict;
