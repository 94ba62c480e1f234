-- bench/normalize.sql: crmdedup's C normalizers against the SQL a DBA writes today
-- (regexp_replace, lower, unaccent, translate), on the same generated rows in one run.
-- Run by bench/normalize; prints rows per second and the ratio. Not a test.
\set ON_ERROR_STOP 1
\set rows :rows
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS unaccent;
SET max_parallel_workers_per_gather = 0;	-- one core for both paths, so the ratio is fair
SET jit = off;

DROP TABLE IF EXISTS bench_raw;
CREATE TABLE bench_raw AS
SELECT i,
       -- phones as people write them (Russian formats, a few international)
       CASE i % 8
           WHEN 0 THEN format('8 (9%s) %s-%s-%s', lpad((i % 100)::text, 2, '0'), lpad((i % 1000)::text, 3, '0'),
                              lpad((i / 7 % 100)::text, 2, '0'), lpad((i / 3 % 100)::text, 2, '0'))
           WHEN 1 THEN format('+7 9%s %s %s %s', lpad((i % 100)::text, 2, '0'), lpad((i % 1000)::text, 3, '0'),
                              lpad((i / 7 % 100)::text, 2, '0'), lpad((i / 3 % 100)::text, 2, '0'))
           WHEN 2 THEN format('89%s%s', lpad((i % 100)::text, 2, '0'), lpad((i * 7 % 10000000)::text, 7, '0'))
           WHEN 3 THEN format('+7(495)%s-%s-%s доб. %s', lpad((i % 1000)::text, 3, '0'),
                              lpad((i / 7 % 100)::text, 2, '0'), lpad((i / 3 % 100)::text, 2, '0'), i % 100)
           WHEN 4 THEN format('8-800-%s-%s-%s', lpad((i % 1000)::text, 3, '0'),
                              lpad((i / 7 % 100)::text, 2, '0'), lpad((i / 3 % 100)::text, 2, '0'))
           WHEN 5 THEN format('+1 (212) 555-%s', lpad((i % 10000)::text, 4, '0'))
           WHEN 6 THEN format('9%s %s %s', lpad((i % 100)::text, 2, '0'), lpad((i % 1000)::text, 3, '0'),
                              lpad((i * 13 % 10000)::text, 4, '0'))
           ELSE format('+86 138 %s %s', lpad((i % 10000)::text, 4, '0'), lpad((i / 5 % 10000)::text, 4, '0'))
       END AS phone,
       -- emails with case, dots, +tags, display names
       CASE i % 6
           WHEN 0 THEN format('Ivan.Petrov%s@Gmail.com', i)
           WHEN 1 THEN format('  ivan.petrov%s+crm@googlemail.com ', i)
           WHEN 2 THEN format('Петров <petrov%s@Mail.RU>', i)
           WHEN 3 THEN format('ivan-petrov%s@yandex.com', i)
           WHEN 4 THEN format('J.Smith%s@Outlook.com', i)
           ELSE format('wang%s@qq.com', i)
       END AS email,
       -- names in three scripts
       (ARRAY['Пётр Щукин', 'Юлия Чайковская', 'Иван Петров', 'Ivan Petrov', 'José Müller',
              'Alexander Kharitonov', '王小明', 'Елена Ёлкина', 'Sarah O''Connor', '李娜'])[i % 10 + 1]
           || ' ' || (i % 97)::text AS name
  FROM generate_series(1, :rows) AS i;
ANALYZE bench_raw;

-- What a DBA writes without crmdedup. Phones: digits only, then Russian trunk rules by hand.
CREATE OR REPLACE FUNCTION pg_temp.sql_phone(raw text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
           WHEN d ~ '^8\d{10}$' THEN '+7' || substr(d, 2)
           WHEN d ~ '^7\d{10}$' THEN '+' || d
           WHEN d ~ '^\d{10}$' THEN '+7' || d
           WHEN raw ~ '^\s*\+' AND length(d) BETWEEN 8 AND 15 THEN '+' || d
         END
    FROM (SELECT regexp_replace(regexp_replace(raw, '(доб|ext|x)\.?\s*\d+\s*$', ''), '\D', '', 'g') AS d) s
$$;
-- Emails: display name and spaces off, lower case, Gmail dots and +tags.
CREATE OR REPLACE FUNCTION pg_temp.sql_email(raw text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN split_part(e, '@', 2) IN ('gmail.com', 'googlemail.com')
              THEN replace(split_part(split_part(e, '@', 1), '+', 1), '.', '') || '@gmail.com'
              ELSE e END
    FROM (SELECT lower(trim(regexp_replace(raw, '^.*<([^>]*)>.*$', '\1'))) AS e) s
$$;
-- Names: unaccent, lower, punctuation to spaces, Cyrillic by translate() and replace().
CREATE OR REPLACE FUNCTION pg_temp.sql_name(raw text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT trim(regexp_replace(
           translate(replace(replace(replace(replace(replace(replace(replace(replace(replace(
             lower(unaccent(raw)), 'щ', 'shch'), 'ж', 'zh'), 'х', 'kh'), 'ц', 'ts'), 'ч', 'ch'),
             'ш', 'sh'), 'ю', 'yu'), 'я', 'ya'), 'ё', 'e'),
             'абвгдезийклмнопрстуфыэъь', 'abvgdeziyklmnoprstufye'),
           '[^[:alnum:]]+', ' ', 'g'))
$$;

CREATE TEMP TABLE bench_result (what text, path text, seconds float8, nonnull bigint);

CREATE OR REPLACE FUNCTION pg_temp.timed(what text, path text, expr text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; n bigint;
BEGIN
  t0 := clock_timestamp();
  EXECUTE format('SELECT count(%s) FROM bench_raw', expr) INTO n;
  INSERT INTO bench_result VALUES (what, path, extract(epoch FROM clock_timestamp() - t0), n);
END $$;

-- warm the cache and the ICU transliterator first
SELECT count(*) FROM bench_raw;
SELECT crmdedup.translit('王小明 Пётр');

SELECT pg_temp.timed('baseline: count(*) only', 'scan', '*');
SELECT pg_temp.timed('phone', 'crmdedup', 'crmdedup.phone_e164(phone, ''RU'')');
SELECT pg_temp.timed('phone', 'sql', 'pg_temp.sql_phone(phone)');
SELECT pg_temp.timed('email', 'crmdedup', 'crmdedup.email_key(email)');
SELECT pg_temp.timed('email', 'sql', 'pg_temp.sql_email(email)');
SELECT pg_temp.timed('name (fold)', 'crmdedup', 'crmdedup.name_key(name)');
SELECT pg_temp.timed('name (fold)', 'sql', 'lower(unaccent(name))');
SELECT pg_temp.timed('name (translit)', 'crmdedup', 'crmdedup.translit(name)');
SELECT pg_temp.timed('name (translit)', 'sql', 'pg_temp.sql_name(name)');

\echo
\echo rows per second (one core, same rows, same run); ratio = crmdedup rows/s over SQL rows/s
SELECT c.what, :rows AS rows,
       round(:rows / c.seconds) AS crmdedup_rows_per_s,
       round(:rows / s.seconds) AS sql_rows_per_s,
       round((s.seconds / c.seconds)::numeric, 1) AS ratio,
       c.nonnull AS crmdedup_nonnull, s.nonnull AS sql_nonnull
  FROM bench_result c JOIN bench_result s ON s.what = c.what AND s.path = 'sql'
 WHERE c.path = 'crmdedup'
 ORDER BY c.what;
SELECT round(seconds::numeric, 3) AS scan_seconds FROM bench_result WHERE path = 'scan';
DROP TABLE bench_raw;
