#!/usr/bin/env bash
# End-to-end: invalid UTF-8 reaching the functions.  In a UTF8 database the server rejects
# such bytes before any function sees them (sql/hostile.sql); in a SQL_ASCII database it
# does not check at all.  There, every text-taking function of the extension (read from the
# catalog) is called with invalid UTF-8 (lone lead bytes, overlong forms, surrogates, bytes
# above F4, a truncated sequence at the end, NUL-free binary junk) in each text argument,
# and the two types' input too.  Each call must end in a result or a clean error
# (0A000: the function needs a UTF8 database; 22021: invalid byte sequence; or
# 22P02/22023/54000/42704); no crash, no XX000.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_sql_ascii
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

dropdb --if-exists "$db" 2>/dev/null
createdb -E SQL_ASCII -T template0 --locale=C "$db"
q -c 'CREATE EXTENSION crmdedup'
q <<'SQL'
CREATE TABLE bad (label text, v text);
INSERT INTO bad VALUES
 ('lone lead', E'Ivan \xd0 Petrov'), ('overlong slash', E'\xc0\xaf'), ('surrogate', E'\xed\xa0\x80x'),
 ('above F4', E'\xf5\x80\x80\x80'), ('truncated end', E'Пётр\xd0'), ('continuation only', E'\x80\x80\x80'),
 ('junk', E'\xff\xfe\x01\x7f\xc3(\xe2\x82'), ('email', E'iv\xe0n@x\xff.ru'), ('phone', E'+7 912 \xd0 345 67 89'),
 ('long junk', repeat(E'\xd0', 100000));
CREATE TABLE out (fn text, label text, outcome text);
DO $$
DECLARE
    f record;
    b record;
    args text[];
    r text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn, quote_ident(n.nspname) || '.' || quote_ident(p.proname) AS qname,
               ARRAY(SELECT unnest(p.proargtypes::oid[])) AS types
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'crmdedup'
         WHERE p.prokind = 'f' AND 'text'::regtype = ANY (p.proargtypes::oid[])
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                            WHERE t NOT IN ('text'::regtype, 'integer'::regtype, 'double precision'::regtype,
                                            'boolean'::regtype))
    LOOP
        FOR b IN SELECT * FROM bad LOOP
            SELECT array_agg(CASE WHEN t = 'text'::regtype THEN quote_literal(b.v) || '::text'
                                  WHEN t = 'boolean'::regtype THEN 'false' ELSE '1' END ORDER BY o)
              INTO args FROM unnest(f.types) WITH ORDINALITY u(t, o);
            BEGIN
                EXECUTE format('SELECT (%s(%s))::text', f.qname, array_to_string(args, ', ')) INTO r;
                INSERT INTO out VALUES (f.fn::text, b.label, 'ok');
            EXCEPTION WHEN OTHERS THEN
                INSERT INTO out VALUES (f.fn::text, b.label, SQLSTATE);
            END;
        END LOOP;
    END LOOP;
    FOR b IN SELECT * FROM bad LOOP
        BEGIN
            EXECUTE format('SELECT %L::crmdedup.email::text', b.v) INTO r;
            INSERT INTO out VALUES ('email_in', b.label, 'ok');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO out VALUES ('email_in', b.label, SQLSTATE);
        END;
        BEGIN
            EXECUTE format('SELECT %L::crmdedup.phone::text', b.v) INTO r;
            INSERT INTO out VALUES ('phone_in', b.label, 'ok');
        EXCEPTION WHEN OTHERS THEN
            INSERT INTO out VALUES ('phone_in', b.label, SQLSTATE);
        END;
    END LOOP;
END $$;
SQL
q -At -c "SELECT outcome, count(*) FROM out GROUP BY 1 ORDER BY 1" | sed 's/^/  /'
n=$(q -At -c "SELECT count(*) FROM out")
[ "$n" -gt 100 ] || fail "only $n calls made"
bad=$(q -At -c "SELECT string_agg(fn || ' ' || label || ': ' || outcome, E'\n') FROM out
                 WHERE outcome NOT IN ('ok', '0A000', '22021', '22P02', '22023', '54000', '42704')")
[ -z "$bad" ] || fail "unexpected outcomes:
$bad"
# the server is still up and the types never stored invalid UTF-8
q -At -c "SELECT 1" >/dev/null || fail "the server is down"
echo "SQL_ASCII database: $n calls with invalid UTF-8, each a result or a clean error"
q -At -c "SELECT fn, count(*) FROM out WHERE outcome = 'ok' GROUP BY 1 ORDER BY 1" | sed "s/^/  ok: /"
dropdb "$db"
echo ok
