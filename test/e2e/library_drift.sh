#!/usr/bin/env bash
# End-to-end: a changed ICU / utf8proc under existing keys.  The recorded versions are edited
# to simulate a server upgraded under the database; a new session using a key function gets
# the warning with its DETAIL and HINT (once per session), then the documented re-key path
# (README, "Library versions": REINDEX every index using crmdedup functions, recompute stored
# keys, refresh_versions()) makes the warning go away for good.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_library_drift
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
q <<'SQL'
CREATE EXTENSION crmdedup;
CREATE TABLE people (id int PRIMARY KEY, full_name text, name_key text);
INSERT INTO people SELECT g, 'Пётр Щукин ' || g, NULL FROM generate_series(1, 200) g;
UPDATE people SET name_key = crmdedup.name_key(full_name);
CREATE INDEX people_key ON people (crmdedup.name_key(full_name));
CREATE INDEX people_email ON people (crmdedup.email_key(full_name || '@x.ru'));
SQL
[ "$(q -At -c 'SELECT count(*) FROM crmdedup.versions() WHERE NOT matches')" = 0 ] || fail "mismatch right after install"

# the server "changed" under the keys
q -c "UPDATE crmdedup.library_versions SET version = '0.0-old' WHERE component IN ('icu', 'utf8proc')"
out=$(q -c "SELECT crmdedup.name_key('Пётр')" -c "SELECT crmdedup.name_key('Пётр')" 2>&1 >/dev/null)
echo "$out"
for c in icu utf8proc; do
	grep -q "WARNING:  crmdedup $c version mismatch" <<<"$out" || fail "no warning for $c"
	grep -q "DETAIL:  The keys were computed with $c version 0.0-old, but the running version is " <<<"$out" ||
		fail "no DETAIL for $c"
done
grep -q 'HINT:  Rebuild all indexes and stored values that use crmdedup key functions, then run SELECT crmdedup.refresh_versions()' <<<"$out" ||
	fail "no HINT"
[ "$(grep -c 'WARNING:  crmdedup icu version mismatch' <<<"$out")" = 1 ] || fail "warned more than once per session"
[ "$(q -At -c 'SELECT count(*) FROM crmdedup.versions() WHERE NOT matches')" = 2 ] || fail "versions() does not show the 2 mismatches"

# the documented re-key path
q <<'SQL' >/dev/null 2>&1
SELECT format('REINDEX INDEX %s;', indexrelid::regclass)
  FROM pg_index WHERE pg_get_indexdef(indexrelid) ~ 'crmdedup\.'
\gexec
UPDATE people SET name_key = crmdedup.name_key(full_name);
SELECT crmdedup.refresh_versions();
SQL
out=$(q -c "SELECT crmdedup.name_key('Пётр')" 2>&1 >/dev/null)
[ -z "$out" ] || fail "still warning after the re-key path: $out"
[ "$(q -At -c 'SELECT count(*) FROM crmdedup.versions() WHERE NOT matches')" = 0 ] || fail "versions() still shows mismatches"
# the rebuilt index answers
n=$(q -At -c "SET enable_seqscan = off; SELECT count(*) FROM people WHERE crmdedup.name_key(full_name) = crmdedup.name_key('ПЁТР щукин 7')")
[ "$n" = 1 ] || fail "the rebuilt index does not find the row ($n)"
echo "warning with DETAIL and HINT, once per session; gone after REINDEX and refresh_versions()"
dropdb "$db"
echo ok
