#!/usr/bin/env bash
# End-to-end: 16 pgbench clients hammer a block guard with overlapping duplicates (the same
# 150 people, phones written four ways), under READ COMMITTED and then REPEATABLE READ.
# Afterwards no two rows may share a normalized phone or email key.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_guard_bench
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crmdedup;
CREATE TABLE contacts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, full_name text, phone text, email text);
SELECT crmdedup.create_profile('contacts', 'contacts',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('contacts', 'block', fields => ARRAY['phone', 'email'], min_score => 0);
-- pgbench stops a client at its first error, so duplicates are caught here and counted
CREATE TABLE outcomes (what text);
CREATE FUNCTION try_insert(person int, style int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d text := lpad(person::text, 7, '0');
BEGIN
    INSERT INTO contacts (full_name, phone, email) VALUES (
        'Person ' || person,
        CASE style % 4 WHEN 0 THEN format('8 (912) %s-%s-%s', substr(d, 1, 3), substr(d, 4, 2), substr(d, 6, 2))
                       WHEN 1 THEN '+7912' || d
                       WHEN 2 THEN format('+7 912 %s %s %s', substr(d, 1, 3), substr(d, 4, 2), substr(d, 6, 2))
                       ELSE '8912' || d END,
        CASE WHEN style % 3 = 0 THEN format('Person.%s+bench@GoogleMail.com', person) END);
    INSERT INTO outcomes VALUES ('inserted');
EXCEPTION
    WHEN unique_violation THEN INSERT INTO outcomes VALUES ('blocked');
    WHEN serialization_failure THEN INSERT INTO outcomes VALUES ('serialization failure');
END $$;
SQL
cat > /tmp/guard_bench.sql <<'SQL'
\set person random(1, 600)
\set style random(0, 11)
SELECT try_insert(:person, :style);
SQL
status=0
for level in "read committed" "repeatable read"; do
	PGOPTIONS="-c default_transaction_isolation=${level// /\\ }" \
		/usr/lib/postgresql/15/bin/pgbench -n -c 16 -j 2 -t 150 -f /tmp/guard_bench.sql "$db" >/tmp/guard_bench.log 2>&1 ||
		{ cat /tmp/guard_bench.log; exit 1; }
	outcomes=$(psql -X -At -d "$db" -c "SELECT string_agg(what || ' ' || n, ', ' ORDER BY what) FROM (SELECT what, count(*) n FROM outcomes GROUP BY what) s")
	# pairs of rows that the guard should have kept apart
	dups=$(psql -X -At -d "$db" -c "
		SELECT count(*) FROM contacts a JOIN contacts b ON a.id < b.id
		 AND (crmdedup.phone_e164(a.phone, 'RU') = crmdedup.phone_e164(b.phone, 'RU')
		      OR crmdedup.email_key(a.email) = crmdedup.email_key(b.email))")
	rows=$(psql -X -At -d "$db" -c "SELECT count(*) FROM contacts")
	echo "$level: 16 clients x 150 inserts: $outcomes; rows $rows; duplicate pairs $dups"
	[ "$dups" -eq 0 ] || status=1
	[ "$rows" -le 600 ] || status=1
	psql -X -q -d "$db" -c "TRUNCATE contacts, outcomes"
done
dropdb "$db"
exit $status
