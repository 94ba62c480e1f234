#!/usr/bin/env bash
# End-to-end: installing next to a hostile role (the CVE-2020-14350 pattern).
#   1. a schema "crmdedup" pre-created by another role (with a function of its own in it),
#      a schema of the installer where others may create, and one holding another role's
#      function: CREATE EXTENSION refuses each (42501) and nothing of the attacker runs;
#   2. trap functions in public, with exact-match signatures that would beat pg_catalog's
#      variadic or polymorphic ones (format, jsonb_build_object, array_to_string, concat...)
#      for any unqualified call: a superuser whose search_path includes public installs the
#      extension and runs profiles, scoring, guards, merges, unmerge and reports; none of
#      the traps is ever called.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_install_safety
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }
refused() {	# refused <what>: CREATE EXTENSION must fail with 42501
	local out
	if out=$(psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c 'CREATE EXTENSION crmdedup' 2>&1); then
		fail "CREATE EXTENSION succeeded with $1"
	fi
	grep -q '42501' <<<"$out" || fail "CREATE EXTENSION with $1 failed otherwise: $out"
	echo "refused: $1"
}

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -c 'DROP ROLE IF EXISTS e2e_mallory' -c 'CREATE ROLE e2e_mallory LOGIN' 2>/dev/null
q -c "GRANT CREATE ON DATABASE $db TO e2e_mallory"
q <<'SQL'
CREATE TABLE public.pwned (who name, what text, at timestamptz DEFAULT now());
GRANT INSERT ON public.pwned TO PUBLIC;
GRANT CREATE ON SCHEMA public TO e2e_mallory;
SQL

# 1a. the attacker's schema
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U e2e_mallory <<'SQL'
CREATE SCHEMA crmdedup;
GRANT USAGE, CREATE ON SCHEMA crmdedup TO PUBLIC;
CREATE FUNCTION crmdedup.versions() RETURNS SETOF record LANGUAGE sql
    AS $$ INSERT INTO public.pwned (who, what) VALUES (current_user, 'crmdedup.versions'); SELECT NULL::record WHERE false $$;
SQL
refused "a schema crmdedup owned by another role"
q -c 'DROP SCHEMA crmdedup CASCADE' 2>/dev/null
# 1b. the installer's schema, but everyone may create in it
q -c 'CREATE SCHEMA crmdedup' -c 'GRANT CREATE ON SCHEMA crmdedup TO PUBLIC'
refused "a schema crmdedup where PUBLIC may create"
# 1c. the installer's schema, no grants, but it holds another role's function
q -c 'REVOKE CREATE ON SCHEMA crmdedup FROM PUBLIC' -c 'GRANT CREATE ON SCHEMA crmdedup TO e2e_mallory'
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U e2e_mallory \
	-c "CREATE FUNCTION crmdedup.name_key(text, int) RETURNS text LANGUAGE sql AS \$\$ INSERT INTO public.pwned (who, what) VALUES (current_user, 'name_key'); SELECT \$1 \$\$"
q -c 'REVOKE CREATE ON SCHEMA crmdedup FROM e2e_mallory'
refused "a schema crmdedup holding another role's function"
q -c 'DROP SCHEMA crmdedup CASCADE' 2>/dev/null
[ "$(q -At -c 'SELECT count(*) FROM pwned')" = 0 ] || fail "attacker code ran: $(q -At -c 'TABLE pwned')"
[ "$(q -At -c "SELECT count(*) FROM pg_extension WHERE extname = 'crmdedup'")" = 0 ] || fail "the extension is installed"

# 2. traps in public
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -U e2e_mallory <<'SQL'
CREATE FUNCTION public.trap(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.pwned (who, what) VALUES (current_user, what) $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.trap('format/2'); SELECT pg_catalog.format($1, $2) $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.trap('format/3'); SELECT pg_catalog.format($1, $2, $3) $$;
CREATE FUNCTION public.format(text, regclass) RETURNS text LANGUAGE sql
    AS $$ SELECT public.trap('format/regclass'); SELECT pg_catalog.format($1, $2) $$;
CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT public.trap('jsonb_build_object'); SELECT pg_catalog.jsonb_build_object($1, $2) $$;
CREATE FUNCTION public.jsonb_build_object(text, jsonb) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT public.trap('jsonb_build_object/jsonb'); SELECT pg_catalog.jsonb_build_object($1, $2) $$;
CREATE FUNCTION public.array_to_string(text[], text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.trap('array_to_string'); SELECT pg_catalog.array_to_string($1, $2) $$;
CREATE FUNCTION public.concat(text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT public.trap('concat'); SELECT pg_catalog.concat($1, $2) $$;
CREATE FUNCTION public.coalesce_trap() RETURNS void LANGUAGE sql AS $$ SELECT public.trap('x') $$;
CREATE FUNCTION public.to_jsonb(text) RETURNS jsonb LANGUAGE sql
    AS $$ SELECT public.trap('to_jsonb'); SELECT pg_catalog.to_jsonb($1) $$;
CREATE FUNCTION public.array_position(text[], text) RETURNS int LANGUAGE sql
    AS $$ SELECT public.trap('array_position'); SELECT pg_catalog.array_position($1, $2) $$;
CREATE FUNCTION public.text_eq_name(text, name) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.trap('= (text, name)'); SELECT $1 OPERATOR(pg_catalog.=) $2::text $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = name, FUNCTION = public.text_eq_name);
CREATE FUNCTION public.regclass_eq_oid(regclass, oid) RETURNS boolean LANGUAGE sql
    AS $$ SELECT public.trap('= (regclass, oid)'); SELECT $1::oid OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = regclass, RIGHTARG = oid, FUNCTION = public.regclass_eq_oid);
SQL
q <<'SQL' >/dev/null 2>&1
-- the default search_path: pg_catalog is searched first, so only a better match can win
SET search_path = "$user", public;
CREATE EXTENSION crmdedup;
CREATE TABLE public.contacts (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, full_name text,
    phone text, email text, duplicate_of bigint);
CREATE TABLE public.deals (id bigint PRIMARY KEY, contact_id bigint REFERENCES public.contacts, title text);
INSERT INTO public.contacts (id, full_name, phone, email) VALUES
 (1, 'Иван Петров', '8 912 345 67 89', 'ivan@x.ru'), (2, 'Ivan Petrov', '+7 912 345 67 89', 'Ivan@X.ru'),
 (3, 'Анна Смирнова', '+7 903 111 22 33', NULL);
SELECT setval(pg_get_serial_sequence('public.contacts', 'id'), 100);
INSERT INTO public.deals VALUES (1, 2, 'deal');
SELECT crmdedup.create_profile('contacts', 'public.contacts', '{"region": "RU", "fields": {
    "full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.alter_profile('contacts', '{"region": "RU", "fields": {
    "full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.analyze('contacts');
SELECT * FROM crmdedup.match('contacts', (SELECT c FROM contacts c WHERE id = 1), (SELECT c FROM contacts c WHERE id = 2));
SELECT * FROM crmdedup.find_duplicates('contacts');
SELECT * FROM crmdedup.clusters('contacts');
SELECT * FROM crmdedup.summary('contacts');
SELECT crmdedup.phone_e164('8 912 345 67 89', 'RU'), crmdedup.email_key('Ivan@X.ru'), crmdedup.name_key('Иван');
SELECT crmdedup.guard('contacts', 'flag', name => 'c_flag', fields => ARRAY['phone'], min_score => 0);
INSERT INTO public.contacts (full_name, phone) VALUES ('Анна С.', '8 903 111 22 33');
SELECT crmdedup.unguard('c_flag');
SELECT crmdedup.guard('contacts', 'block', name => 'c_block', fields => ARRAY['email'], min_score => 0);
SELECT crmdedup.merge_preview('public.contacts', 1, ARRAY[2]::bigint[]);
CALL crmdedup.merge('public.contacts', 1, ARRAY[2]::bigint[]);
CALL crmdedup.unmerge(1);
CALL crmdedup.auto_merge('contacts', dry_run => true);
SELECT * FROM crmdedup.versions();
SQL
# The guard trigger runs its queries with search_path pinned to pg_catalog, pg_temp (it once
# resolved a public "=(regclass, oid)" through the inserting role's path): no trap may fire.
pwned=$(q -At -c "SELECT string_agg(DISTINCT what, ', ' ORDER BY what) FROM pwned")
[ -z "$pwned" ] || fail "trap functions in public were called: $pwned"
[ "$(q -At -c "SELECT has_schema_privilege('e2e_mallory', 'crmdedup', 'CREATE')")" = f ] || fail "others may create in the extension's schema"
[ "$(q -At -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'e2e_mallory'")" = f ] || fail "mallory became superuser"
echo "installed and used with traps in public on the search_path: no other trap called"
dropdb "$db"
psql -X -q -c 'DROP ROLE e2e_mallory'
echo ok
