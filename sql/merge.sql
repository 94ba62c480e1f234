-- Merges: column rules, foreign keys found in the catalogs and re-pointed, redundant child rows,
-- audit, unmerge back to the exact previous state, privileges, hostile names.
SET client_min_messages = warning;
SET extra_float_digits = 0;
\set SHOW_CONTEXT never

CREATE SCHEMA m;
CREATE SCHEMA other;
CREATE TABLE m.companies (id int PRIMARY KEY, name text);
INSERT INTO m.companies VALUES (1, 'Acme'), (2, 'Romashka');

CREATE TABLE m.contacts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant int NOT NULL DEFAULT 1,
    company_id int REFERENCES m.companies,
    name text NOT NULL,
    email text UNIQUE,
    city text,
    notes text,
    nick varchar(20),
    score int,
    birth date,
    phones text[],
    emails jsonb,
    extra jsonb,
    doc json,
    ranks int[],
    dup_of bigint REFERENCES m.contacts,
    merged_into bigint,
    updated_at timestamptz NOT NULL DEFAULT '2024-01-01 00:00+00',
    name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
    UNIQUE (id, tenant)
);
CREATE TABLE m.deals (id serial PRIMARY KEY, contact_id bigint NOT NULL REFERENCES m.contacts ON DELETE CASCADE, title text);
CREATE TABLE m.tags (id int PRIMARY KEY, name text);
CREATE TABLE m.contact_tags (contact_id bigint REFERENCES m.contacts ON DELETE CASCADE, tag_id int REFERENCES m.tags,
                             PRIMARY KEY (contact_id, tag_id));
-- a foreign key over two columns, to a unique key that is not the primary key
CREATE TABLE m.tenant_notes (id int PRIMARY KEY, contact_id bigint, tenant int, note text,
                             FOREIGN KEY (contact_id, tenant) REFERENCES m.contacts (id, tenant));
-- no primary key, identical rows allowed
CREATE TABLE m.visits (contact_id bigint REFERENCES m.contacts ON DELETE CASCADE, page text);
-- partitioned child
CREATE TABLE m.events (id int, contact_id bigint REFERENCES m.contacts ON DELETE CASCADE, what text, PRIMARY KEY (id))
    PARTITION BY RANGE (id);
CREATE TABLE m.events_1 PARTITION OF m.events FOR VALUES FROM (0) TO (100);
CREATE TABLE m.events_2 PARTITION OF m.events FOR VALUES FROM (100) TO (1000);
-- another schema
CREATE TABLE other.calls (id int PRIMARY KEY, contact_id bigint REFERENCES m.contacts, minutes int);
-- keys without a foreign key
CREATE TABLE m.notes_log (id int PRIMARY KEY, contact_ref bigint, note text);

INSERT INTO m.contacts (name, email, city, notes, nick, score, birth, phones, emails, extra, doc, ranks, dup_of, updated_at, company_id)
VALUES
('Ivan Petrov', NULL, 'Moscow', 'VIP', 'Vanya', 5, NULL, '{"8 (912) 345-67-89"}',
 '["Ivan.Petrov@gmail.com"]', '{"a": 1}', '{"x":  1,  "x": 2}', '[0:1]={7,8}', NULL, '2024-03-01 10:00+00', NULL),
('Petrov Ivan', 'ivan@example.com', 'Moskva', NULL, 'Ivan the Terrible', 9, '1980-05-17', '{"+7 912 345 67 89","+7 495 111 22 33"}',
 '["ivanpetrov+crm@googlemail.com", "ivan@example.com"]', '{"a": 2, "b": 3}', '[1,2]', '{1}', 1, '2024-05-01 10:00+00', 2),
('I. Petrov', 'petrov@example.com', NULL, 'met at fair', NULL, 7, '1980-05-18', NULL,
 NULL, '{"c": 4}', NULL, NULL, 2, '2024-02-01 10:00+00', 1),
('Anna Smith', 'anna@example.com', 'London', NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL, 3, '2024-01-01 10:00+00', NULL),
('Someone Else', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-01 10:00+00', NULL);
INSERT INTO m.deals (contact_id, title) VALUES (1, 'd1'), (2, 'd2'), (2, 'd3'), (3, 'd4'), (4, 'd5');
INSERT INTO m.tags VALUES (1, 'vip'), (2, 'lead'), (3, 'cold');
INSERT INTO m.contact_tags VALUES (1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 1);
INSERT INTO m.tenant_notes VALUES (1, 2, 1, 'tn'), (2, 3, 1, 'tn3'), (3, 4, 1, 'other');
INSERT INTO m.visits VALUES (2, '/a'), (2, '/a'), (3, '/b'), (1, '/a');
INSERT INTO m.events VALUES (5, 2, 'e5'), (150, 3, 'e150'), (7, 1, 'e7');
INSERT INTO other.calls VALUES (1, 3, 10), (2, 5, 3);
INSERT INTO m.notes_log VALUES (1, 2, 'n2'), (2, 3, 'n3'), (3, 5, 'n5');

-- every table's full contents, byte for byte
CREATE TEMP TABLE snapshots (label text, tbl text, n bigint, md5 text);
CREATE FUNCTION pg_temp.snap() RETURNS TABLE (tbl text, n bigint, md5 text)
LANGUAGE plpgsql AS $$
DECLARE
    r regclass;
BEGIN
    FOR r IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
              WHERE s.nspname IN ('m', 'other', 'we;ird "s') AND c.relkind IN ('r', 'p')
              ORDER BY c.oid::regclass::text LOOP
        tbl := r::text;
        EXECUTE format('SELECT count(*), md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s AS t', r)
           INTO n, md5;
        RETURN NEXT;
    END LOOP;
END;
$$;
CREATE FUNCTION pg_temp.changed_since(s text) RETURNS TABLE (tbl text, n_then bigint, n_now bigint)
LANGUAGE sql AS $$
    SELECT coalesce(a.tbl, b.tbl), b.n, a.n
      FROM pg_temp.snap() AS a FULL JOIN (SELECT * FROM snapshots WHERE label = s) AS b ON a.tbl = b.tbl
     WHERE a.md5 IS DISTINCT FROM b.md5
     ORDER BY 1;
$$;
INSERT INTO snapshots SELECT 'start', * FROM pg_temp.snap();

-- what merge finds in the catalogs: foreign keys across schemas, over two columns, on a
-- partitioned table, the self-reference; and a table named in the rules
SELECT * FROM crmdedup.merge_references('m.contacts',
    '{"references": [{"table": "m.notes_log", "column": "contact_ref"}]}') ORDER BY 1, 2;

-- what it would do, changing nothing
SELECT p->'changed' AS changed, p->'children' AS children, p->'discarded'->'city' AS city_discarded
  FROM crmdedup.merge_preview('m.contacts', 1, ARRAY[2, 3]) AS p;

-- 1. defaults: the survivor's non-null values win, its NULLs are filled from the losers in order
CALL crmdedup.merge('m.contacts', keep => 1, losers => ARRAY[2, 3],
                    rules => '{"references": [{"table": "m.notes_log", "column": "contact_ref"}]}');
SELECT max(merge_id) AS m1 FROM crmdedup.merge_log \gset
SELECT id, tenant, company_id, name, email, city, notes, nick, score, birth, phones, emails, extra, doc, ranks, dup_of,
       updated_at, name_upper
  FROM m.contacts ORDER BY id;
-- every child now points at the survivor; the duplicate tag (1, 1) was removed, not moved
SELECT 'deals' AS t, contact_id, count(*) FROM m.deals GROUP BY 2
UNION ALL SELECT 'contact_tags', contact_id, count(*) FROM m.contact_tags GROUP BY 2
UNION ALL SELECT 'tenant_notes', contact_id, count(*) FROM m.tenant_notes GROUP BY 2
UNION ALL SELECT 'visits', contact_id, count(*) FROM m.visits GROUP BY 2
UNION ALL SELECT 'events', contact_id, count(*) FROM m.events GROUP BY 2
UNION ALL SELECT 'calls', contact_id, count(*) FROM other.calls GROUP BY 2
UNION ALL SELECT 'notes_log', contact_ref, count(*) FROM m.notes_log GROUP BY 2
ORDER BY 1, 2;
SELECT tableoid::regclass, * FROM m.events ORDER BY id;
-- the audit
SELECT tbl, key_column, survivor, losers, mode, merged_by = current_user AS by_me,
       merged_by_session = session_user AS session_me, merged_at > now() - interval '1 minute' AS recent, unmerged_at
  FROM crmdedup.merge_log WHERE merge_id = :m1;
SELECT e->>'table' AS "table", e->>'constraint' AS "constraint", e->'key' AS key, e->'old' AS old, e->'new' AS new
  FROM crmdedup.merge_log, jsonb_array_elements(moved) AS e WHERE merge_id = :m1
 ORDER BY e->>'table', (e->'key')::text, (e->'old')::text;
SELECT e->>'table' AS "table", e->>'conflict' AS conflict, e->'old' AS old, e->'row' AS row
  FROM crmdedup.merge_log, jsonb_array_elements(removed) AS e WHERE merge_id = :m1;
SELECT e->>'key' AS key, e->'row'->>'name' AS name, e->'row'->>'email' AS email, e ? 'text' AS has_text
  FROM crmdedup.merge_log, jsonb_array_elements(loser_rows) AS e WHERE merge_id = :m1;
-- the survivor's json and array values do not read back exactly from jsonb: kept as text too
SELECT survivor_before_text IS NOT NULL AS before_text, survivor_before->'doc' AS doc_as_jsonb
  FROM crmdedup.merge_log WHERE merge_id = :m1;
SELECT jsonb_pretty(discarded) FROM crmdedup.merge_log WHERE merge_id = :m1;

-- 2. unmerge: every table as it was, byte for byte (ids of the losers included)
CALL crmdedup.unmerge(:m1);
SELECT * FROM pg_temp.changed_since('start');
SELECT unmerged_at > now() - interval '1 minute' AS undone, unmerged_by = current_user AS by_me FROM crmdedup.merge_log WHERE merge_id = :m1;
\set VERBOSITY terse
CALL crmdedup.unmerge(:m1);
\set VERBOSITY default
CALL crmdedup.unmerge(-1);

-- 3. every rule
CALL crmdedup.merge('m.contacts', 1, ARRAY[2, 3], '{
  "columns": {
    "name": "longest",
    "email": {"rule": "from", "key": 3},
    "city": {"rule": "newest", "by": "updated_at"},
    "nick": "keep",
    "notes": {"rule": "concat", "separator": " / "},
    "score": "max",
    "birth": "min",
    "phones": {"rule": "union", "kind": "phone", "region": "RU"},
    "emails": {"rule": "union", "kind": "email"},
    "extra": "union",
    "ranks": "union",
    "updated_at": {"rule": "newest", "by": "updated_at"}
  }}');
SELECT max(merge_id) AS m2 FROM crmdedup.merge_log \gset
SELECT id, name, email, city, nick, notes, score, birth, phones, emails, extra, ranks, updated_at, name_upper
  FROM m.contacts WHERE id = 1;
-- nothing that did not survive is lost without a trace
SELECT k AS "column", jsonb_agg(v->'key' ORDER BY v->>'key') AS from_rows
  FROM crmdedup.merge_log, jsonb_each(discarded) AS d(k, vals), jsonb_array_elements(vals) AS v
 WHERE merge_id = :m2 GROUP BY k ORDER BY k;
CALL crmdedup.unmerge(:m2);
SELECT * FROM pg_temp.changed_since('start');

-- oldest, min and a default of keep
CALL crmdedup.merge('m.contacts', 2, ARRAY[3, 1], '{"default": "keep", "columns": {"city": {"rule": "oldest", "by": "updated_at"}, "score": "min", "notes": "first"}}');
SELECT id, name, email, city, notes, score, birth FROM m.contacts WHERE id = 2;
SELECT max(merge_id) AS m3 FROM crmdedup.merge_log \gset
CALL crmdedup.unmerge(:m3);
SELECT * FROM pg_temp.changed_since('start');

-- 4. keep and mark the losers instead of deleting them
ALTER TABLE m.contacts ADD FOREIGN KEY (merged_into) REFERENCES m.contacts;
CALL crmdedup.merge('m.contacts', 4, ARRAY[3], '{"mark": "merged_into", "columns": {"email": "keep"}}');
SELECT max(merge_id) AS m4 FROM crmdedup.merge_log \gset
SELECT id, name, email, dup_of, merged_into FROM m.contacts ORDER BY id;
SELECT contact_id, count(*) FROM m.deals GROUP BY 1 ORDER BY 1;
-- a marked loser cannot be merged again, nor be a survivor
CALL crmdedup.merge('m.contacts', 1, ARRAY[3], '{"mark": "merged_into"}');
CALL crmdedup.merge('m.contacts', 3, ARRAY[1], '{"mark": "merged_into"}');
-- merging the survivor later re-points the marked row too (it references it)
CALL crmdedup.merge('m.contacts', 1, ARRAY[4], '{"mark": "merged_into", "columns": {"email": "keep"}}');
SELECT max(merge_id) AS m5 FROM crmdedup.merge_log \gset
SELECT id, merged_into FROM m.contacts WHERE merged_into IS NOT NULL ORDER BY id;
-- undo in the wrong order: refused, naming the row and the later merge
CALL crmdedup.unmerge(:m4);
CALL crmdedup.unmerge(:m5);
CALL crmdedup.unmerge(:m4);
SELECT * FROM pg_temp.changed_since('start');
ALTER TABLE m.contacts DROP CONSTRAINT contacts_merged_into_fkey;

-- 5. unmerge refuses when something changed since, and says what
CALL crmdedup.merge('m.contacts', 1, ARRAY[2]);
SELECT max(merge_id) AS m6 FROM crmdedup.merge_log \gset
UPDATE m.contacts SET city = 'Kazan' WHERE id = 1;
CALL crmdedup.unmerge(:m6);
UPDATE m.contacts SET city = 'Moscow' WHERE id = 1;
UPDATE m.deals SET title = 'd2 renamed' WHERE title = 'd2';
CALL crmdedup.unmerge(:m6);
UPDATE m.deals SET title = 'd2' WHERE title = 'd2 renamed';
UPDATE m.deals SET contact_id = 4 WHERE title = 'd3';
CALL crmdedup.unmerge(:m6);
UPDATE m.deals SET contact_id = 1 WHERE title = 'd3';
DELETE FROM m.visits WHERE contact_id = 1 AND page = '/a';
CALL crmdedup.unmerge(:m6);
INSERT INTO m.visits VALUES (1, '/a'), (1, '/a'), (1, '/a');
INSERT INTO m.contacts (id, name) OVERRIDING SYSTEM VALUE VALUES (2, 'new row with an old id');
CALL crmdedup.unmerge(:m6);
DELETE FROM m.contacts WHERE id = 2;
-- put back as it was, the undo goes through
CALL crmdedup.unmerge(:m6);
SELECT * FROM pg_temp.changed_since('start');

-- 6. errors
CALL crmdedup.merge('m.contacts', 1, ARRAY[1, 2]);
CALL crmdedup.merge('m.contacts', 1, ARRAY[2, 2]);
SELECT crmdedup.merge_preview('m.contacts', 1, ARRAY[2, 1]);
CALL crmdedup.merge('m.contacts', 1, ARRAY[]::int[]);
CALL crmdedup.merge('m.contacts', NULL::int, ARRAY[2]);
CALL crmdedup.merge('m.contacts', 1, ARRAY[2, NULL]);
CALL crmdedup.merge('m.contacts', 1, ARRAY[99]);
CALL crmdedup.merge('m.contacts', 99, ARRAY[1]);
CALL crmdedup.merge('m.contacts', '1', ARRAY['x']);
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '[]');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"colums": {}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"nope": "first"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"city": "best"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"city": {"rule": "first", "sep": ","}}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"id": "max"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"tenant": "max"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"name_upper": "first"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"city": "newest"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"city": "union"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"score": "concat"}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"phones": {"rule": "union", "kind": "fax"}}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"phones": {"rule": "union", "kind": "phone", "region": "XX"}}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"columns": {"city": {"rule": "from", "key": 5}}}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"mark": "nope"}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"references": [{"table": "notes_log", "column": "contact_ref"}]}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"references": [{"table": "m.notes_log", "column": "nope"}]}');
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"child_conflicts": "ignore"}');
CALL crmdedup.merge('m.visits', 1, ARRAY[2]);
CREATE VIEW m.v AS SELECT * FROM m.companies;
CALL crmdedup.merge('m.v', 1, ARRAY[2]);
DROP VIEW m.v;
SELECT * FROM pg_temp.changed_since('start');

-- a loser merged away already: the error names the merge
CALL crmdedup.merge('m.contacts', 4, ARRAY[5]);
SELECT max(merge_id) AS m7 FROM crmdedup.merge_log \gset
CALL crmdedup.merge('m.contacts', 1, ARRAY[5]);
CALL crmdedup.merge('m.contacts', 5, ARRAY[1]);
CALL crmdedup.unmerge(:m7);

-- child_conflicts "error": the duplicate tag stops the merge
CALL crmdedup.merge('m.contacts', 1, ARRAY[2], '{"child_conflicts": "error"}');
-- a redundant child row that other rows reference is not removed (that could cascade)
CREATE TABLE m.tag_notes (contact_id bigint, tag_id int, note text,
                          FOREIGN KEY (contact_id, tag_id) REFERENCES m.contact_tags ON DELETE CASCADE);
CALL crmdedup.merge('m.contacts', 1, ARRAY[2]);
DROP TABLE m.tag_notes;
SELECT * FROM pg_temp.changed_since('start');

-- 7. privileges: merge runs with the caller's rights
CREATE ROLE crmdedup_merge_clerk;
CREATE ROLE crmdedup_merge_other;
GRANT USAGE ON SCHEMA m, other TO crmdedup_merge_clerk, crmdedup_merge_other;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA m, other TO crmdedup_merge_clerk;
REVOKE UPDATE ON m.contact_tags FROM crmdedup_merge_clerk;
SET ROLE crmdedup_merge_clerk;
CALL crmdedup.merge('m.contacts', 1, ARRAY[2]);
RESET ROLE;
SELECT * FROM pg_temp.changed_since('start');
GRANT UPDATE ON m.contact_tags TO crmdedup_merge_clerk;
SET ROLE crmdedup_merge_clerk;
CALL crmdedup.merge('m.contacts', 1, ARRAY[2]);
SELECT max(merge_id) AS m8 FROM crmdedup.merge_log \gset
SELECT merged_by, survivor, losers FROM crmdedup.merge_log ORDER BY merge_id;
-- another role sees no log entry and cannot undo it
SET ROLE crmdedup_merge_other;
SELECT count(*) FROM crmdedup.merge_log;
CALL crmdedup.unmerge(:m8);
UPDATE crmdedup.merge_log SET losers = '{}';
-- the clerk may undo it, but not rewrite the audit
SET ROLE crmdedup_merge_clerk;
UPDATE crmdedup.merge_log SET losers = '{}' WHERE merge_id = :m8;
DELETE FROM crmdedup.merge_log WHERE merge_id = :m8;
CALL crmdedup.unmerge(:m8);
RESET ROLE;
SELECT unmerged_by FROM crmdedup.merge_log WHERE merge_id = :m8;
SELECT * FROM pg_temp.changed_since('start');
-- row-level security on a child could hide rows that ON DELETE CASCADE would then remove
ALTER TABLE m.deals ENABLE ROW LEVEL SECURITY;
CREATE POLICY deals_mine ON m.deals USING (title <> 'd3');
SET ROLE crmdedup_merge_clerk;
CALL crmdedup.merge('m.contacts', 1, ARRAY[2]);
RESET ROLE;
DROP POLICY deals_mine ON m.deals;
ALTER TABLE m.deals DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON ALL TABLES IN SCHEMA m, other FROM crmdedup_merge_clerk;
REVOKE ALL ON SCHEMA m, other FROM crmdedup_merge_clerk, crmdedup_merge_other;
DROP ROLE crmdedup_merge_clerk, crmdedup_merge_other;
SELECT * FROM pg_temp.changed_since('start');

-- 8. hostile table and column names are only ever quoted
CREATE SCHEMA "we;ird ""s";
CREATE TABLE "we;ird ""s"."we;ird ""name" ("i""d" bigint PRIMARY KEY, "na;me"" --" text,
                                          "x'); DROP TABLE m.canary; --" text);
CREATE TABLE "we;ird ""s"."chi""ld;" (k int PRIMARY KEY, "re""f; --" bigint REFERENCES "we;ird ""s"."we;ird ""name");
CREATE TABLE m.canary (x int);
INSERT INTO "we;ird ""s"."we;ird ""name" VALUES (1, 'a', NULL), (2, 'bbb', 'x'), (3, NULL, 'y');
INSERT INTO "we;ird ""s"."chi""ld;" VALUES (1, 2), (2, 3), (3, 1);
INSERT INTO snapshots SELECT 'hostile', * FROM pg_temp.snap();
SELECT * FROM crmdedup.merge_references('"we;ird ""s"."we;ird ""name"');
CALL crmdedup.merge('"we;ird ""s"."we;ird ""name"', 1, ARRAY[2, 3],
                    '{"columns": {"na;me\" --": "longest", "x''); DROP TABLE m.canary; --": {"rule": "concat", "separator": "'');"}}}');
SELECT max(merge_id) AS m9 FROM crmdedup.merge_log \gset
SELECT * FROM "we;ird ""s"."we;ird ""name";
SELECT * FROM "we;ird ""s"."chi""ld;" ORDER BY k;
SELECT count(*) AS canary FROM m.canary;
CALL crmdedup.unmerge(:m9);
SELECT * FROM pg_temp.changed_since('hostile');
SELECT tbl, n FROM snapshots WHERE label = 'hostile' AND tbl LIKE '"we;ird%' ORDER BY 1;
DROP SCHEMA "we;ird ""s" CASCADE;

-- 9. the log is kept by pg_dump, with its sequence
SELECT c::regclass AS config_table
  FROM pg_extension e, unnest(e.extconfig) AS c
 WHERE e.extname = 'crmdedup' AND c::regclass::text LIKE 'crmdedup.merge%' ORDER BY 1;

-- 10. a guard that blocks duplicates does not stop the owner's merge from putting them back
CREATE TABLE m.guarded (id int PRIMARY KEY, name text, email text, phone text);
INSERT INTO m.guarded VALUES (1, 'Ivan Petrov', 'ivan.petrov@gmail.com', NULL), (2, 'Anna Smith', 'anna@example.com', NULL);
SELECT crmdedup.create_profile('merge_guarded', 'm.guarded',
    '{"region": "RU", "fields": {"name": "person_name", "email": "email", "phone": "phone"}}');
SELECT crmdedup.guard('merge_guarded', action => 'block') AS guard;
SET crmdedup.guards = off;
INSERT INTO m.guarded VALUES (3, 'Ivan P', 'IvanPetrov@gmail.com', '8 912 345 67 89');
RESET crmdedup.guards;
INSERT INTO snapshots SELECT 'guarded', * FROM pg_temp.snap();
BEGIN;
CALL crmdedup.merge('m.guarded', 1, ARRAY[3]);
SELECT max(merge_id) AS m10 FROM crmdedup.merge_log \gset
SELECT * FROM m.guarded ORDER BY id;
SHOW crmdedup.guards;
CALL crmdedup.unmerge(:m10);
SHOW crmdedup.guards;
COMMIT;
SELECT * FROM pg_temp.changed_since('guarded');
SELECT crmdedup.unguard(g.name) FROM crmdedup.guards g WHERE g.profile = 'merge_guarded';
SELECT crmdedup.drop_profile('merge_guarded');

DROP SCHEMA m, other CASCADE;
DELETE FROM crmdedup.merge_log;
