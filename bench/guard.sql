-- bench/guard.sql: the cost of guarding inserts, three set-ups receiving the same new contacts
-- (20% duplicates of existing ones, written in other formats), with :rows existing contacts:
--   (a) the table with its unique indexes only (raw phone, lower(email))
--   (b) crmdedup guard, action link (exact phone/email keys + name keys, scored by the profile),
--       on (a)'s table: (a)'s raw unique indexes and the guard's three key indexes
--   (d) the same guard on the table a crmdedup user deploys: primary key and the guard's key
--       indexes, no raw unique index (which would reject the returning client the link
--       guard is there to accept)
--   (c) the PL/pgSQL trigger + pg_trgm GIN index a DBA writes for the same checks
--   (k) for the record: (b)'s key indexes without its trigger, the part of (b) that is index upkeep
--   (j) for the record: (d)'s key indexes without its trigger
-- Per-row cost in batches of 1,000 rows per transaction, and single-row durable transactions;
-- the set-ups take turns so that all three see the same machine.  (c) costs thousands of times
-- more per row than the others (its name match finds every namesake): it takes one batch in
-- ten and every tenth single row, so that a run at 1,000,000 rows stays within minutes.
-- The existing contacts have names (28 last x 22 first names x 1,000 numbers: at 1,000,000
-- rows each name is worn by about 13 people), so name candidates are found and scored; the
-- new people are named like them (see incoming below).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

CREATE TEMP TABLE first_names (i int, v text);
INSERT INTO first_names SELECT ordinality, v FROM unnest(ARRAY['Иван','Пётр','Алексей','Мария','Анна','Ольга','Сергей',
  'Дмитрий','John','Mary','Robert','Linda','James','Susan','David','Karen','伟','芳','娜','敏','静','强']) WITH ORDINALITY v;
CREATE TEMP TABLE last_names (i int, v text);
INSERT INTO last_names SELECT ordinality, v FROM unnest(ARRAY['Иванов','Петров','Смирнов','Кузнецов','Попов','Соколов',
  'Лебедев','Козлов','Новиков','Морозов','Smith','Johnson','Williams','Brown','Jones','Miller','Davis','Wilson',
  '王','李','张','刘','陈','杨','黄','赵','吴','周']) WITH ORDINALITY v;

-- Phones and emails as a CRM holds them (2026-11-27 evening): spread over the number and
-- address space, each written as someone typed it.  An existing contact's number is
-- +7 9NN SSSSSSS with NN = id % 100 and SSSSSSS an even number spread over 0..9,999,998 (a
-- permutation of id / 100: unique up to 500,000,000 rows), a third of them typed
-- `8 (9NN) SSS-SS-SS`; an email is user<id>@mail.ru, a quarter of them with the person's name
-- as display name (`Name <user<id>@mail.ru>`).  Before, every existing contact's phone was
-- written `+7 9NN 000SSSS` and every email `user<id>@mail.ru`, while the new rows' raw texts
-- (`+7 950 5…` and `new<n>@example.com` of the new people, the duplicates' `8 (9xx) …` and
-- `Клиент <USER…>`) sorted together at a few places no stored text occupied: (a)'s raw unique
-- indexes took every new row at a few hot leaf pages, where any index on a key that spreads
-- (the guard's normalized keys, or raw texts of real contacts) lands on cold ones.
CREATE FUNCTION pg_temp.phone_text(nn int, s bigint, typed_8 bool) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN typed_8
              THEN '8 (9' || lpad(nn::text, 2, '0') || ') ' || substr(lpad(s::text, 7, '0'), 1, 3) || '-'
                   || substr(lpad(s::text, 7, '0'), 4, 2) || '-' || substr(lpad(s::text, 7, '0'), 6, 2)
              ELSE '+7 9' || lpad(nn::text, 2, '0') || ' ' || lpad(s::text, 7, '0') END $$;
CREATE TABLE existing AS
SELECT g.i AS id,
       (SELECT v FROM last_names l WHERE l.i = 1 + (g.i::bigint * 7919) % 28) || ' ' ||
       (SELECT v FROM first_names f WHERE f.i = 1 + (g.i::bigint * 104729) % 22) || ' ' || (g.i % 1000) AS full_name,
       pg_temp.phone_text(g.i % 100, 2 * (((g.i / 100)::bigint * 7919) % 5000000), g.i % 3 = 0) AS phone,
       'user' || g.i || '@mail.ru' AS email
  FROM generate_series(1, :rows) g(i);
UPDATE existing SET email = full_name || ' <' || email || '>' WHERE id % 4 = 0;

-- New contacts: 80% new people, 20% existing ones in other formats, in an order unrelated to
-- their keys.  A new person's number is +7 9NN with NN and an odd SSSSSSS from a hash of n
-- (odd: no existing contact holds it), a third typed `8 (…)`; the email user<k>.n<n>@mail.ru
-- for a k from a hash of n (among the stored ones); the name an existing contact's name, so
-- that it has its ~13 namesakes as a new person named like others does (before: `Новый <n>
-- Человек`, a name no one else held, and the phones and emails above in the order of n).
-- A duplicate's phone is typed the other way than its original's (`8 (…)` for `+7 …`, `+7 …`
-- for `8 (…)`), its email upper-cased, inside the person's name as display name when the
-- original had none and bare when it had one: never the raw text stored, so (a)'s raw unique
-- indexes let it in as they would let in a returning client typing differently.
CREATE TABLE incoming AS
SELECT n,
       CASE WHEN n % 5 = 0 THEN e.full_name ELSE p.full_name END AS full_name,
       CASE WHEN n % 5 = 0 THEN pg_temp.phone_text((e.id % 100)::int, 2 * (((e.id / 100)::bigint * 7919) % 5000000), e.id % 3 <> 0)
            ELSE pg_temp.phone_text(((n::bigint * 7907) % 100)::int, 2 * ((n::bigint * 104729 + 12345) % 5000000) + 1, n % 3 = 0) END AS phone,
       CASE WHEN n % 5 = 0 AND e.id % 4 = 0 THEN upper('user' || e.id || '@mail.ru')
            WHEN n % 5 = 0 THEN e.full_name || ' <' || upper(e.email) || '>'
            ELSE 'user' || (1 + (n::bigint * 69069 + 1) % :rows) || '.n' || n || '@mail.ru' END AS email
  FROM generate_series(1, 11300) n
  JOIN existing e ON e.id = 1 + (n * 48271) % :rows
  JOIN existing p ON p.id = 1 + (n::bigint * 2654435761) % :rows;

CREATE FUNCTION pg_temp.make_table(name text, raw_unique bool DEFAULT true) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TABLE %I (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, full_name text, phone text, email text, duplicate_of bigint)', name);
  IF raw_unique THEN
    EXECUTE format('CREATE UNIQUE INDEX ON %I (phone)', name);
    EXECUTE format('CREATE UNIQUE INDEX ON %I (lower(email))', name);
  END IF;
  EXECUTE format('INSERT INTO %I (id, full_name, phone, email) OVERRIDING SYSTEM VALUE SELECT id, full_name, phone, email FROM existing', name);
  EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), (SELECT max(id) FROM %I))', name, name);
END $$;
SELECT pg_temp.make_table('setup_a'), pg_temp.make_table('setup_b'), pg_temp.make_table('setup_c'),
       pg_temp.make_table('setup_k'), pg_temp.make_table('setup_d', false), pg_temp.make_table('setup_j', false);

-- (b) crmdedup: the guard creates its own key indexes
SELECT crmdedup.create_profile('bench', 'setup_b',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('bench', 'link', link_column => 'duplicate_of');
-- (k) not a set-up of its own: the guard's key indexes without its trigger (unguard keeps them),
-- what (b) costs before its trigger does anything
SELECT crmdedup.create_profile('bench_k', 'setup_k',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('bench_k', 'link', name => 'bench_k', link_column => 'duplicate_of');
SELECT crmdedup.unguard('bench_k');
-- (d) the table a crmdedup user deploys: the primary key and the guard, no unique index on
-- the raw phone or lower(email).  A link guard's point is to accept a returning client and
-- link the new row to the old one; a raw-text unique index on the same table would reject
-- that client whenever they type their phone or email the same way as before (and let them
-- in when they type it another way): such a table keeps its keys normalized, in the guard's
-- key indexes.  (b) keeps (a)'s raw unique indexes as well, six indexes: measured too.
SELECT crmdedup.create_profile('bench_d', 'setup_d',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('bench_d', 'link', link_column => 'duplicate_of');
-- (j) for the record: (d)'s table and key indexes without its trigger
SELECT crmdedup.create_profile('bench_j', 'setup_j',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('bench_j', 'link', name => 'bench_j', link_column => 'duplicate_of');
SELECT crmdedup.unguard('bench_j');

-- (c) what a DBA writes: exact keys by regexp, names by pg_trgm
CREATE FUNCTION pg_temp.norm_phone(p text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT regexp_replace(regexp_replace(p, '\D', '', 'g'), '^8(\d{10})$', '7\1') $$;
CREATE INDEX ON setup_c (pg_temp.norm_phone(phone));
CREATE INDEX ON setup_c USING gin (full_name gin_trgm_ops);
CREATE FUNCTION pg_temp.dba_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT id INTO NEW.duplicate_of FROM setup_c t
   WHERE pg_temp.norm_phone(t.phone) = pg_temp.norm_phone(NEW.phone) OR lower(t.email) = lower(NEW.email)
      OR t.full_name % NEW.full_name
   ORDER BY similarity(t.full_name, NEW.full_name) DESC LIMIT 1;
  RETURN NEW;
END $$;
CREATE TRIGGER dba_guard BEFORE INSERT ON setup_c FOR EACH ROW EXECUTE FUNCTION pg_temp.dba_guard();
VACUUM ANALYZE setup_a; VACUUM ANALYZE setup_b; VACUUM ANALYZE setup_c; VACUUM ANALYZE setup_k;
VACUUM ANALYZE setup_d; VACUUM ANALYZE setup_j;
CHECKPOINT;

CREATE TABLE results (setup text, mode text, rows int, seconds float8, linked int, median_us float8, cpu_seconds float8);
-- the backend's own CPU time (Linux: /proc/self/schedstat, nanoseconds on a CPU; NULL elsewhere):
-- what other users' load on the machine does not stretch, unlike the elapsed time
CREATE FUNCTION pg_temp.cpu_ns() RETURNS float8 LANGUAGE sql AS
$$ SELECT nullif(split_part(pg_read_file('/proc/self/schedstat', 0, 200, true), ' ', 1), '')::float8 $$;
INSERT INTO results SELECT s, m, 0, 0, NULL FROM unnest(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j']) s,
                                                 unnest(ARRAY['batch', 'single-row durable']) m;

-- batches of 1,000 rows per transaction (10 batches), then 300 single-row durable transactions;
-- the set-ups take turns (batch by batch, row by row) so that they share the machine's moods
CREATE PROCEDURE pg_temp.run() LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; b int; r record; tbl text; el float8[] := '{0,0,0,0,0,0}'; i int; k int := 0;
        times float8[] := '{}'; e float8; c0 float8; cpu float8[] := '{0,0,0,0,0,0}';
BEGIN
  SET LOCAL synchronous_commit = on;
  FOR b IN 0..9 LOOP
    i := 0;
    FOREACH tbl IN ARRAY ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'] LOOP
      i := i + 1;
      -- (c) costs thousands of times more per row: it takes one batch in ten (one in five
      -- until its name match met the new people's namesakes, 2026-11-27 evening)
      CONTINUE WHEN tbl = 'setup_c' AND b % 10 <> 0;
      c0 := pg_temp.cpu_ns();   -- before the clock: the elapsed time leaves it out
      t0 := clock_timestamp();
      EXECUTE format('INSERT INTO %I (full_name, phone, email) SELECT full_name, phone, email FROM incoming WHERE n > $1 AND n <= $1 + 1000', tbl)
        USING b * 1000;
      COMMIT;
      e := extract(epoch FROM clock_timestamp() - t0);
      el[i] := el[i] + e;
      cpu[i] := cpu[i] + (pg_temp.cpu_ns() - c0) / 1e9;
      times[i * 1000 + b] := e / 1000;
    END LOOP;
  END LOOP;
  UPDATE results SET rows = CASE setup WHEN 'setup_c' THEN 1000 ELSE 10000 END,
                     seconds = el[array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'], setup)],
                     cpu_seconds = cpu[array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'], setup)]
   WHERE mode = 'batch';
  -- the median batch too: one batch caught by another user's burst moves the mean
  UPDATE results SET median_us = round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY times[j]) * 1e6
                                          FROM generate_series(0, 9) g,
                                               LATERAL (SELECT array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'],
                                                                               setup) * 1000 + g) x(j))::numeric, 1)
   WHERE mode = 'batch';
  COMMIT;
  el := '{0,0,0,0,0,0}';
  cpu := '{0,0,0,0,0,0}';
  times := '{}';
  FOR r IN SELECT * FROM incoming WHERE n > 11000 ORDER BY n LOOP
    i := 0;
    FOREACH tbl IN ARRAY ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'] LOOP
      i := i + 1;
      CONTINUE WHEN tbl = 'setup_c' AND k % 10 <> 0;   -- (c): every tenth row
      c0 := pg_temp.cpu_ns();   -- before the clock: the elapsed time leaves it out
      t0 := clock_timestamp();
      EXECUTE format('INSERT INTO %I (full_name, phone, email) VALUES ($1, $2, $3)', tbl) USING r.full_name, r.phone, r.email;
      COMMIT;
      e := extract(epoch FROM clock_timestamp() - t0);
      el[i] := el[i] + e;
      cpu[i] := cpu[i] + (pg_temp.cpu_ns() - c0) / 1e9;
      times[i * 1000 + k] := e;
    END LOOP;
    k := k + 1;
  END LOOP;
  -- a durable commit's wait on the disk swings widely on a shared machine: the median as well
  UPDATE results SET median_us = round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY times[j]) * 1e6
                                          FROM generate_series(0, k - 1) g,
                                               LATERAL (SELECT array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'],
                                                                               setup) * 1000 + g) x(j))::numeric, 1)
   WHERE mode = 'single-row durable';
  UPDATE results SET rows = CASE setup WHEN 'setup_c' THEN 30 ELSE 300 END,
                     seconds = el[array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'], setup)],
                     cpu_seconds = cpu[array_position(ARRAY['setup_a', 'setup_b', 'setup_c', 'setup_k', 'setup_d', 'setup_j'], setup)]
   WHERE mode = 'single-row durable';
  COMMIT;
END $$;
-- the first transliteration of a Han name in a process opens ICU's transliterator (tens of
-- milliseconds, once per backend): done here, so that no set-up's first batch carries it
DO $$ BEGIN PERFORM crmdedup.person_key('王 伟'); END $$;
CALL pg_temp.run();
UPDATE results r SET linked = (SELECT count(*) FROM setup_b WHERE duplicate_of IS NOT NULL) WHERE setup = 'setup_b';
UPDATE results r SET linked = (SELECT count(*) FROM setup_c WHERE duplicate_of IS NOT NULL) WHERE setup = 'setup_c';
UPDATE results r SET linked = (SELECT count(*) FROM setup_d WHERE duplicate_of IS NOT NULL) WHERE setup = 'setup_d';

\echo
\echo per-row cost in microseconds; ratios against (a) in the same run
-- (per row: (c) runs fewer rows than the others)
SELECT r.mode, r.setup, r.rows, round((r.seconds * 1e6 / r.rows)::numeric, 1) AS us_per_row,
       round(((r.seconds / r.rows) / (a.seconds / a.rows))::numeric, 2) AS vs_a, r.median_us,
       round((r.median_us / a.median_us)::numeric, 2) AS median_vs_a,
       round((r.cpu_seconds * 1e6 / r.rows)::numeric, 1) AS cpu_us_per_row,
       round(((r.cpu_seconds / r.rows) / (a.cpu_seconds / a.rows))::numeric, 2) AS cpu_vs_a, r.linked AS rows_linked
  FROM results r JOIN results a ON a.setup = 'setup_a' AND a.mode = r.mode
 ORDER BY r.mode, r.setup;
SELECT b.mode, b.setup, round(((c.seconds / c.rows) / (b.seconds / b.rows))::numeric, 1) AS c_over_it,
       round((c.median_us / b.median_us)::numeric, 1) AS c_over_it_median
  FROM results b JOIN results c ON c.mode = b.mode WHERE b.setup IN ('setup_b', 'setup_d') AND c.setup = 'setup_c'
 ORDER BY b.mode, b.setup;
-- what each found among the duplicates sent (2,060 to (b) and (d); (c) received 1,030 rows, 200 of them duplicates)
SELECT 'setup_b' AS setup, count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS linked FROM setup_b WHERE id > :rows
UNION ALL SELECT 'setup_d', count(*) FILTER (WHERE duplicate_of IS NOT NULL) FROM setup_d WHERE id > :rows
UNION ALL SELECT 'setup_c', count(*) FILTER (WHERE duplicate_of IS NOT NULL) FROM setup_c WHERE id > :rows;
