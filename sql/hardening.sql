-- Hardening: every function of the extension, called with hostile arguments.  Which
-- functions exist is read from the catalog, so a function added later is covered too.
--  * 10 MB values (Latin and Cyrillic text; a combining-mark flood) in every text or text[]
--    or jsonb argument: a result, or an error with a SQLSTATE that says why; never a crash
--    and never an internal error (XX000);
--  * NULL in every argument at once and in each argument alone: a strict function returns
--    NULL, the others answer or raise a clean error;
--  * every SECURITY DEFINER function pins search_path.
SET client_min_messages = warning;

CREATE TABLE hz_people (id bigint PRIMARY KEY, full_name text, phone text, email text, company text);
INSERT INTO hz_people VALUES (1, 'Ivan Petrov', '+79123456789', 'ivan@x.ru', 'Romashka'),
                             (2, 'Иван Петров', '8 912 345 67 89', 'Ivan@X.ru', 'Ромашка');
SELECT crmdedup.create_profile('hz', 'hz_people', '{"region": "RU", "fields": {"full_name": "person_name",
    "phone": "phone", "email": "email", "company": "company"}}');

-- the functions to call: the extension's own, minus type support (cstring/internal
-- arguments), the trigger, procedures and polymorphic functions (called by hand below)
CREATE TEMP TABLE hz_fn AS
SELECT p.oid::regprocedure AS fn, p.proisstrict AS strict, ARRAY(SELECT unnest(p.proargtypes::oid[])) AS args,
       quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS qname,
       (SELECT lanname FROM pg_language WHERE oid = p.prolang) AS lang
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crmdedup'
 WHERE p.prokind = 'f' AND p.prorettype <> 'trigger'::regtype
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                    WHERE t IN ('internal'::regtype, 'cstring'::regtype, 'anyelement'::regtype,
                                'anycompatible'::regtype, 'anycompatiblearray'::regtype));

CREATE TEMP TABLE hz_out (test text, fn text, arg int, outcome text);

-- call fn with the literal arguments args; record 'ok', 'null' or the SQLSTATE
CREATE FUNCTION pg_temp.hz_call(test text, fn regprocedure, qname text, arg int, args text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    BEGIN
        SET LOCAL statement_timeout = '60s';
        EXECUTE format('SELECT (%s(%s))::text', qname, array_to_string(args, ', ')) INTO r;
        INSERT INTO hz_out VALUES (test, fn::text, arg, CASE WHEN r IS NULL THEN 'null' ELSE 'ok' END);
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO hz_out VALUES (test, fn::text, arg, SQLSTATE);
    END;
END $$;

-- an ordinary value for each argument type, and a hostile one where the type can carry it
CREATE TEMP TABLE hz_big (label text, v text);
INSERT INTO hz_big VALUES
('10MB text', repeat('Ivan Petrov Иван Петров ', 10 * 1024 * 1024 / 36)),
('10MB marks', 'a' || repeat(U&'\0301', 5 * 1024 * 1024));

CREATE FUNCTION pg_temp.hz_arg(t oid, hostile text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE
        WHEN t = 'text'::regtype THEN coalesce('$h$' || hostile || '$h$', quote_literal('hz'))
        WHEN t = 'text[]'::regtype THEN coalesce('ARRAY[$h$' || hostile || '$h$]', 'ARRAY[''hz'']')
        WHEN t = 'jsonb'::regtype THEN coalesce(format('jsonb_build_object(%L, $h$%s$h$)', 'full_name', hostile),
                                                '''{"id": 1, "full_name": "Ivan"}''::jsonb')
        WHEN t = 'jsonb[]'::regtype THEN coalesce(format('ARRAY[jsonb_build_object(%L, $h$%s$h$)]', 'full_name', hostile),
                                                  'ARRAY[''{"id": 1}''::jsonb]')
        WHEN t = 'regclass'::regtype THEN '''hz_people''::regclass'
        WHEN t = 'regclass[]'::regtype THEN 'ARRAY[''hz_people''::regclass]'
        WHEN t IN ('integer'::regtype, 'bigint'::regtype, 'smallint'::regtype) THEN '1'
        WHEN t = 'integer[]'::regtype THEN 'ARRAY[1]'
        WHEN t = 'double precision'::regtype THEN '0.5'
        WHEN t = 'double precision[]'::regtype THEN 'ARRAY[0.5::float8]'
        WHEN t = 'boolean'::regtype THEN 'false'
        WHEN t = 'crmdedup.phone'::regtype THEN '''+79123456789''::crmdedup.phone'
        WHEN t = 'crmdedup.email'::regtype THEN '''ivan@x.ru''::crmdedup.email'
        ELSE 'NULL::' || t::regtype::text
    END
$$;

-- hostile values, one argument at a time; the value sits in a dollar-quoted literal
DO $$
DECLARE
    f record;
    b record;
    args text[];
BEGIN
    FOR b IN SELECT * FROM hz_big LOOP
        -- the mark flood matters where Unicode is processed: the C functions
        FOR f IN SELECT * FROM hz_fn WHERE b.label = '10MB text' OR lang = 'c' ORDER BY fn::text LOOP
            FOR i IN 1 .. cardinality(f.args) LOOP
                CONTINUE WHEN f.args[i] NOT IN ('text'::regtype, 'text[]'::regtype, 'jsonb'::regtype, 'jsonb[]'::regtype);
                args := '{}';
                FOR j IN 1 .. cardinality(f.args) LOOP
                    args := args || pg_temp.hz_arg(f.args[j], CASE WHEN j = i THEN b.v END);
                END LOOP;
                PERFORM pg_temp.hz_call(b.label, f.fn, f.qname, i, args);
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

-- NULLs: all at once, then each alone
DO $$
DECLARE
    f record;
    args text[];
BEGIN
    FOR f IN SELECT * FROM hz_fn WHERE cardinality(hz_fn.args) > 0 ORDER BY fn::text LOOP
        SELECT array_agg('NULL::' || t::regtype::text ORDER BY o) INTO args FROM unnest(f.args) WITH ORDINALITY u(t, o);
        PERFORM pg_temp.hz_call('all NULL', f.fn, f.qname, 0, args);
        FOR i IN 1 .. cardinality(f.args) LOOP
            SELECT array_agg(CASE WHEN o = i THEN 'NULL::' || t::regtype::text ELSE pg_temp.hz_arg(t, NULL) END ORDER BY o)
              INTO args FROM unnest(f.args) WITH ORDINALITY u(t, o);
            PERFORM pg_temp.hz_call('one NULL', f.fn, f.qname, i, args);
        END LOOP;
    END LOOP;
END $$;

-- the polymorphic ones and the procedures, by hand
DO $$
BEGIN
    BEGIN PERFORM crmdedup.match('hz', NULL::hz_people, NULL::hz_people);
          INSERT INTO hz_out VALUES ('all NULL', 'match', 0, 'ok');
    EXCEPTION WHEN OTHERS THEN INSERT INTO hz_out VALUES ('all NULL', 'match', 0, SQLSTATE); END;
    BEGIN PERFORM crmdedup.match('hz', (1, repeat('Ж', 5 * 1024 * 1024), NULL, NULL, NULL)::hz_people,
                                       (2, repeat('Ж', 5 * 1024 * 1024), NULL, NULL, NULL)::hz_people);
          INSERT INTO hz_out VALUES ('10MB text', 'match', 2, 'ok');
    EXCEPTION WHEN OTHERS THEN INSERT INTO hz_out VALUES ('10MB text', 'match', 2, SQLSTATE); END;
    BEGIN PERFORM crmdedup.merge_preview('hz_people', NULL::bigint, NULL::bigint[]);
          INSERT INTO hz_out VALUES ('all NULL', 'merge_preview', 0, 'ok');
    EXCEPTION WHEN OTHERS THEN INSERT INTO hz_out VALUES ('all NULL', 'merge_preview', 0, SQLSTATE); END;
END $$;
\set VERBOSITY sqlstate
CALL crmdedup.merge(NULL, NULL::bigint, NULL::bigint[]);
CALL crmdedup.merge('hz_people', 1, ARRAY[NULL]::bigint[]);
CALL crmdedup.merge('hz_people', NULL::bigint, ARRAY[2]);
CALL crmdedup.unmerge(NULL);
CALL crmdedup.auto_merge(NULL);
\set VERBOSITY default

-- the outcome of each call; an error always has a SQLSTATE of its own
SELECT test, outcome, count(*) AS calls FROM hz_out GROUP BY 1, 2 ORDER BY 1, 2;
-- never an internal error, a timeout, or a crash (which would have ended this session)
SELECT test, fn, arg, outcome FROM hz_out
 WHERE outcome IN ('XX000', 'XX001', 'XX002', '57014', '53200') ORDER BY 1, 2, 3;
-- the 10 MB values: the pure functions either answer or refuse with program_limit_exceeded
-- (54000) or invalid_text_representation (22P02, the type casts)
SELECT test, fn, arg, outcome FROM hz_out
 WHERE test LIKE '10MB%' AND outcome NOT IN ('ok', 'null', '54000', '22P02', '22023', '42704')
 ORDER BY 1, 2, 3;
-- syntax errors and constraint violations: internal helpers fed garbage
SELECT test, fn, arg, outcome FROM hz_out WHERE outcome IN ('42601', '23502') ORDER BY 1, 2, 3;
-- the data is unchanged by all this
SELECT id, full_name FROM hz_people ORDER BY id;
SELECT name FROM crmdedup.profiles ORDER BY name;

-- an error message quotes the start of a rejected value: cut at a character boundary, so
-- the message stays valid UTF-8 for the client and the server log
CREATE FUNCTION pg_temp.hz_message_valid(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    msg text;
BEGIN
    BEGIN
        EXECUTE q;
        RETURN 'no error';
    EXCEPTION WHEN OTHERS THEN
        msg := SQLERRM;
    END;
    -- convert_from validates the bytes
    PERFORM convert_from(convert_to(msg, 'UTF8'), 'UTF8');
    RETURN 'valid UTF-8';
EXCEPTION WHEN character_not_in_repertoire THEN
    RETURN 'invalid UTF-8';
END $$;
SELECT left(v, 3) AS starts, length(v), pg_temp.hz_message_valid(format('SELECT %L::crmdedup.email', v)) AS email,
       pg_temp.hz_message_valid(format('SELECT %L::crmdedup.phone', v)) AS phone
  FROM (VALUES ('a' || repeat('Ж', 300)), (repeat('Ж', 300)), ('ab' || repeat('王', 300))) AS t(v)
 ORDER BY 1;

-- SECURITY DEFINER functions of the extension must pin search_path (proconfig), or a
-- caller's objects could run with the owner's rights
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crmdedup'
 WHERE p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
-- the check above catches one: make a function SECURITY DEFINER without search_path
BEGIN;
ALTER FUNCTION crmdedup.versions() SECURITY DEFINER;
SELECT p.oid::regprocedure AS definer_without_search_path
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crmdedup'
 WHERE p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%');
ROLLBACK;
-- and every PL/pgSQL function of the extension pins it too, so that a caller's
-- search_path cannot shadow the operators and functions it uses; the one exception is
-- auto_merge, a procedure that commits as it goes (a procedure with SET cannot), which
-- qualifies every name instead
SELECT p.oid::regprocedure AS plpgsql_without_search_path
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crmdedup'
 WHERE l.lanname = 'plpgsql'
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
 ORDER BY 1::text;

SELECT crmdedup.drop_profile('hz');
DROP TABLE hz_people;
