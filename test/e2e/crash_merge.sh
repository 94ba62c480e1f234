#!/usr/bin/env bash
# End-to-end: merges interrupted.  A trigger makes each child-row update of a merge slow, so
# the merge can be caught half-way:
#   1. statement_timeout fires during a merge: nothing of it remains (rows, children, log);
#   2. kill -9 of the backend in the middle of a merge, crash recovery: the server comes
#      back, the interrupted merge left nothing (no half-merged records, merge_log agrees
#      with the data), and a merge completed before the crash still unmerges exactly.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_crash_merge
mkdir -p build
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAILED: $*"; exit 1; }

dropdb --if-exists "$db"
createdb "$db"
psql_db <<'SQL'
CREATE EXTENSION crmdedup;
CREATE TABLE contacts (id bigint PRIMARY KEY, full_name text, phone text, notes text);
CREATE TABLE deals (id bigint PRIMARY KEY, contact_id bigint NOT NULL REFERENCES contacts, title text);
CREATE TABLE notes (id bigint PRIMARY KEY, contact_id bigint REFERENCES contacts, body text);
INSERT INTO contacts SELECT g, 'Contact ' || g, '+7912' || lpad(g::text, 7, '0'), 'note ' || g
  FROM generate_series(1, 30) g;
INSERT INTO deals SELECT g, 1 + g % 30, 'deal ' || g FROM generate_series(1, 300) g;
INSERT INTO notes SELECT g, 1 + g % 30, 'body ' || g FROM generate_series(1, 150) g;
-- slow re-pointing, only when asked for (so the merge of step 0 runs at full speed)
CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('e2e.slow', true) = 'on' THEN
        PERFORM pg_sleep(0.05);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER slow BEFORE UPDATE ON deals FOR EACH ROW EXECUTE FUNCTION slow_down();
SQL

snapshot() {
	psql_db -At <<'SQL'
SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
    SELECT 'c' || c::text AS t FROM contacts c UNION ALL
    SELECT 'd' || d::text FROM deals d UNION ALL
    SELECT 'n' || n::text FROM notes n) s;
SQL
}
original=$(snapshot)

# 0. a merge that completes, before anything goes wrong
psql_db -c "CALL crmdedup.merge('contacts', 1, ARRAY[2, 3]::bigint[], '{\"columns\": {\"notes\": {\"rule\": \"concat\"}}}')"
completed=$(psql_db -At -c "SELECT max(merge_id) FROM crmdedup.merge_log")
after_first=$(snapshot)
[ "$after_first" != "$original" ] || fail "the first merge changed nothing"
# every deal of 2 and 3 is on 1 now (a half-merge would leave some behind)
check_consistent() {	# every log row without unmerged_at matches the data, no orphans
	psql_db -At <<'SQL'
SELECT (SELECT count(*) FROM crmdedup.merge_log l WHERE l.unmerged_at IS NULL
         AND (EXISTS (SELECT 1 FROM contacts c WHERE c.id::text = ANY (l.losers))
              OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id::text = l.survivor)))
     + (SELECT count(*) FROM deals d WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = d.contact_id))
     + (SELECT count(*) FROM notes n WHERE n.contact_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = n.contact_id));
SQL
}
[ "$(check_consistent)" = 0 ] || fail "inconsistent after a completed merge"

# 1. statement_timeout in the middle of a merge (70 deals re-pointed at 50 ms each)
set +e
out=$(psql -X -d "$db" -v ON_ERROR_STOP=1 -c "SET e2e.slow = on" -c "SET statement_timeout = '1s'" \
	-c "CALL crmdedup.merge('contacts', 10, ARRAY[11, 12, 13, 14, 15, 16, 17]::bigint[])" 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && grep -q 'canceling statement due to statement timeout' <<<"$out" ||
	fail "statement_timeout did not interrupt the merge: $out"
[ "$(snapshot)" = "$after_first" ] || fail "a timed-out merge changed the data"
[ "$(psql_db -At -c "SELECT count(*) FROM crmdedup.merge_log")" = 1 ] || fail "a timed-out merge was logged"
[ "$(check_consistent)" = 0 ] || fail "inconsistent after the timeout"
echo "statement_timeout during a merge: rolled back entirely"

# 2. kill -9 of the backend half-way through a merge
psql -X -d "$db" -c "SET e2e.slow = on" -c "SET application_name = 'e2e_victim'" \
	-c "CALL crmdedup.merge('contacts', 20, ARRAY[21, 22, 23, 24, 25, 26, 27]::bigint[])" \
	>build/crash_merge.victim.log 2>&1 &
victim_client=$!
pid=
for _ in $(seq 1 100); do
	# wait until the merge is busy re-pointing deals (inside the slow trigger)
	pid=$(psql -X -At -d "$db" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'e2e_victim'
	                                 AND query LIKE 'CALL crmdedup.merge%' AND wait_event = 'PgSleep'" || true)
	[ -n "$pid" ] && break
	sleep 0.1
done
[ -n "$pid" ] || fail "the merge to kill never started"
# some deals of the losers are already re-pointed inside the open transaction
sleep 1
kill -9 "$pid"
wait "$victim_client" || true
grep -qiE 'server closed the connection|terminated abnormally|connection to server was lost' build/crash_merge.victim.log ||
	fail "the victim was not killed: $(cat build/crash_merge.victim.log)"
# crash recovery: the postmaster restarts every backend
for _ in $(seq 1 120); do
	psql -X -At -d "$db" -c 'SELECT 1' >/dev/null 2>&1 && break
	sleep 0.5
done
psql -X -At -d "$db" -c 'SELECT 1' >/dev/null || fail "the server did not come back after kill -9"
echo "kill -9 during a merge: server back after crash recovery"
[ "$(snapshot)" = "$after_first" ] || fail "the killed merge left changes behind"
[ "$(psql_db -At -c "SELECT count(*) FROM crmdedup.merge_log")" = 1 ] || fail "the killed merge was logged"
[ "$(check_consistent)" = 0 ] || fail "inconsistent after crash recovery"
# the same merge runs fine now, and everything unmerges back to the original
psql_db -c "CALL crmdedup.merge('contacts', 20, ARRAY[21, 22, 23, 24, 25, 26, 27]::bigint[])"
[ "$(check_consistent)" = 0 ] || fail "inconsistent after merging again"
psql_db -At -c "SELECT format('CALL crmdedup.unmerge(%s);', merge_id) FROM crmdedup.merge_log ORDER BY merge_id DESC" |
	psql_db >/dev/null
[ "$(snapshot)" = "$original" ] || fail "unmerge after the crash did not restore the data"
echo "after recovery: merge_log consistent with the data, the pre-crash merge ($completed) unmerged exactly"
dropdb "$db"
echo ok
