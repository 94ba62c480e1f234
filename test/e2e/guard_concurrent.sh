#!/usr/bin/env bash
# End-to-end: concurrent multi-row transactions of unrelated people through a block guard.
# (1) Two sessions each insert new people (no key in common) in one transaction, in two
#     INSERT ... SELECT steps with a pause between, so that each holds its first rows' locks
#     when its second rows ask theirs.  GUARD_CONC_PAIRS (default "80:80 700:700 2400:300";
#     A:B rows of the two sessions, two keys a row) and GUARD_CONC_TRIES (default 3) set the
#     runs; GUARD_CONC_PAUSE (seconds, default 0.5) is the pause, 0 for two statements back to
#     back.  The fine-lock bound is 32 x max_locks_per_transaction keys (2,048 at the
#     default).  Below the bound neither session may wait for the table's lock or fail
#     (with the guard's former 1,024 slots, taken exclusively before 2026-11-27, the slots
#     they shared crosswise made one fail with 40P01; with the slots in share mode and
#     exclusive past a bound of 1,024, until 2026-11-27 night, 700:700 failed); a session
#     whose first step passes the bound (2,400 rows) waits for the other one's commit and
#     neither may fail.  Two sessions both past the bound at the same time may deadlock (one
#     40P01, the documented limit): such pairs are reported, not checked.
# (2) One transaction past the bound (3,000 rows) works, holds at most the bound's fine locks
#     and the table's guard lock exclusively (counted in pg_locks), and a duplicate it holds
#     still blocks.
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_guard_concurrent
rows=${GUARD_CONC_ROWS:-30000}
dropdb --if-exists "$db" 2>/dev/null
createdb "$db"
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d "$db" -v rows="$rows" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crmdedup;
CREATE TABLE contacts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, full_name text, phone text, email text);
INSERT INTO contacts (full_name, phone, email)
SELECT 'Person ' || i, '+7 912 ' || lpad(i::text, 7, '0'), 'person' || i || '@mail.ru'
  FROM generate_series(1, :rows) i;
SELECT crmdedup.create_profile('contacts', 'contacts',
    '{"region": "RU", "fields": {"full_name": "person_name", "phone": "phone", "email": "email"}}');
SELECT crmdedup.guard('contacts', 'block', fields => ARRAY['phone', 'email'], min_score => 0);
SQL
bound=$(psql -X -At -d "$db" -c "SELECT 32 * current_setting('max_locks_per_transaction')::int")
fail=0
base=1000000
# session <first person> <count>: two steps of count/2 new people, 8 (9xx) numbers
session() {
	local from=$1 n=$2 half=$(($2 / 2))
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<SQL
BEGIN;
INSERT INTO contacts (full_name, phone, email)
SELECT 'New ' || i, '8 (913) ' || lpad(i::text, 7, '0'), 'new' || i || '@example.com'
  FROM generate_series($from, $from + $half - 1) i;
SELECT pg_sleep(${GUARD_CONC_PAUSE:-0.5});
INSERT INTO contacts (full_name, phone, email)
SELECT 'New ' || i, '8 (913) ' || lpad(i::text, 7, '0'), 'new' || i || '@example.com'
  FROM generate_series($from + $half, $from + $n - 1) i;
COMMIT;
SQL
}
for pair in ${GUARD_CONC_PAIRS:-80:80 700:700 2400:300}; do
	na=${pair%%:*} nb=${pair##*:}
	deadlocks=0 others=0
	for try in $(seq 1 "${GUARD_CONC_TRIES:-3}"); do
		session "$base" "$na" >/tmp/guard_conc_a.$$ &
		a=$!
		session $((base + na)) "$nb" >/tmp/guard_conc_b.$$ &
		b=$!
		wait $a || true
		wait $b || true
		base=$((base + na + nb))
		for f in /tmp/guard_conc_a.$$ /tmp/guard_conc_b.$$; do
			if grep -q 'deadlock detected' "$f"; then deadlocks=$((deadlocks + 1))
			elif grep -q 'ERROR' "$f"; then others=$((others + 1)); cat "$f"; fi
		done
	done
	rm -f /tmp/guard_conc_a.$$ /tmp/guard_conc_b.$$
	echo "two sessions x $na and $nb unrelated rows (2 keys each, fine-lock bound $bound): $deadlocks deadlocks, $others other errors in ${GUARD_CONC_TRIES:-3} tries"
	# one session at most past the bound: no failure allowed
	if [ "$others" -gt 0 ] || { { [ $((2 * na)) -le "$bound" ] || [ $((2 * nb)) -le "$bound" ]; } && [ "$deadlocks" -gt 0 ]; }; then
		fail=1
	fi
done

# (2) past the bound: 3,000 rows of 2 keys in one transaction
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
BEGIN;
INSERT INTO contacts (full_name, phone, email)
SELECT 'Bulk ' || i, '+7 (914) ' || lpad(i::text, 7, '0'), 'bulk' || i || '@example.com'
  FROM generate_series(1, 3000) i;
SELECT count(*) FILTER (WHERE classid = x'43524d4b'::int::oid) || ' ' ||
       count(*) FILTER (WHERE classid = x'43524d54'::int::oid AND mode = 'ExclusiveLock') || ' ' ||
       count(*) FILTER (WHERE classid = x'43524d54'::int::oid AND mode = 'ShareLock') || ' ' ||
       count(*) FILTER (WHERE classid NOT IN (x'43524d4b'::int::oid, x'43524d54'::int::oid))
  FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted;
COMMIT;
SELECT count(*) FROM contacts WHERE full_name LIKE 'Bulk %';
SQL
)
read -r fine excl share other <<<"$(echo "$out" | sed -n 1p)"
stored=$(echo "$out" | sed -n 2p)
echo "one transaction of 3,000 rows: $stored stored; advisory locks held: $fine fine (bound $bound), table lock $excl exclusive and $share share, $other others"
if [ "$stored" != 3000 ] || [ "$fine" -gt "$bound" ] || [ "$fine" -eq 0 ] || [ "$excl" -ne 1 ] || [ "$other" -ne 0 ]; then
	fail=1
fi
# a duplicate of a row the bulk transaction inserted past the bound is blocked
if psql -X -q -d "$db" -c "INSERT INTO contacts (full_name, phone, email) VALUES ('x', '89140002999', NULL)" 2>/tmp/guard_conc_e.$$; then
	echo "duplicate of a bulk row was not blocked"; fail=1
elif ! grep -q 'matches the existing row\|duplicate' /tmp/guard_conc_e.$$; then
	cat /tmp/guard_conc_e.$$; fail=1
fi
rm -f /tmp/guard_conc_e.$$
dropdb "$db"
exit $fail
