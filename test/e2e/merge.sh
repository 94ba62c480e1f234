#!/usr/bin/env bash
# End-to-end: merges on the demo CRM.  Loads the demo, merges true duplicate groups from
# crm.demo_truth (the original survives), checks that no deal, activity, phone, email or tag
# was lost and that every one of them points at a survivor, then undoes every merge (latest
# first) and compares every crm table with how it was, byte for byte.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
#   E2E_MERGE_GROUPS=40   how many duplicate groups to merge
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_merge
groups=${E2E_MERGE_GROUPS:-40}
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

dropdb --if-exists "$db"
createdb "$db"
psql_db -c 'CREATE EXTENSION crmdedup' -f demo/schema.sql
python3 demo/generate.py --seed 11 --contacts 3000 | psql_db >/dev/null

# md5 of the full contents of every crm table
snapshot() {
	psql_db -At <<'SQL'
SELECT string_agg(format('%s %s %s', c.oid::regclass,
                         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, true, '')))[1],
                         (xpath('/row/m/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) AS m FROM %s AS t', c.oid::regclass), false, true, '')))[1]),
                  E'\n' ORDER BY c.oid::regclass::text)
  FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
 WHERE s.nspname = 'crm' AND c.relkind IN ('r', 'p');
SQL
}
before=$(snapshot)

# children per group before the merge, and the merges themselves (each its own transaction)
psql_db -v groups="$groups" >/dev/null <<'SQL'
CREATE TABLE public.e2e_groups AS
SELECT original_id AS keep, array_agg(contact_id ORDER BY contact_id) FILTER (WHERE contact_id <> original_id) AS losers
  FROM crm.demo_truth
 WHERE original_id IN (SELECT original_id FROM crm.demo_truth GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT :groups)
 GROUP BY original_id;
CREATE TABLE public.e2e_counts AS
SELECT (SELECT count(*) FROM crm.deals) AS deals, (SELECT count(*) FROM crm.activities) AS activities,
       (SELECT count(*) FROM crm.contact_phones) AS phones, (SELECT count(*) FROM crm.contact_emails) AS emails,
       (SELECT count(*) FROM crm.contact_tags) AS contact_tags, (SELECT count(*) FROM crm.tags) AS tags,
       (SELECT count(*) FROM crm.contacts) AS contacts,
       (SELECT count(DISTINCT (g.keep, t.tag_id)) FROM public.e2e_groups g
          JOIN crm.contact_tags t ON t.contact_id = g.keep OR t.contact_id = ANY (g.losers)) AS group_tags;
SELECT format('CALL crmdedup.merge(%L, keep => %s, losers => %L::bigint[], rules => %L);',
              'crm.contacts', keep, losers,
              '{"columns": {"notes": {"rule": "concat"}, "created_at": "min", "updated_at": "max"}}')
  FROM public.e2e_groups ORDER BY keep
\gexec
SQL

# nothing lost, everything points at a survivor
read -r ok detail < <(psql_db -At -F ' ' <<'SQL'
WITH l AS (SELECT * FROM crmdedup.merge_log WHERE unmerged_at IS NULL),
removed AS (SELECT count(*) AS n FROM l, jsonb_array_elements(l.removed) AS e),
losers AS (SELECT unnest(losers)::bigint AS id FROM public.e2e_groups),
c AS (SELECT * FROM public.e2e_counts)
SELECT (SELECT count(*) FROM l) = (SELECT count(*) FROM public.e2e_groups)
   AND (SELECT count(*) FROM crm.deals) = c.deals
   AND (SELECT count(*) FROM crm.activities) = c.activities
   AND (SELECT count(*) FROM crm.contact_phones) = c.phones
   AND (SELECT count(*) FROM crm.contact_emails) = c.emails
   AND (SELECT count(*) FROM crm.tags) = c.tags
   AND (SELECT count(*) FROM crm.contact_tags) + (SELECT n FROM removed) = c.contact_tags
   AND (SELECT count(*) FROM crm.contact_tags t JOIN public.e2e_groups g ON t.contact_id = g.keep) = c.group_tags
   AND (SELECT count(*) FROM crm.contacts) = c.contacts - (SELECT count(*) FROM losers)
   AND NOT EXISTS (SELECT 1 FROM crm.deals WHERE contact_id IN (SELECT id FROM losers))
   AND NOT EXISTS (SELECT 1 FROM crm.activities WHERE contact_id IN (SELECT id FROM losers))
   AND NOT EXISTS (SELECT 1 FROM crm.contact_phones WHERE contact_id IN (SELECT id FROM losers))
   AND NOT EXISTS (SELECT 1 FROM crm.contact_emails WHERE contact_id IN (SELECT id FROM losers))
   AND NOT EXISTS (SELECT 1 FROM crm.contact_tags WHERE contact_id IN (SELECT id FROM losers))
   AND NOT EXISTS (SELECT 1 FROM crm.contacts WHERE id IN (SELECT id FROM losers)),
       format('merges=%s losers=%s moved=%s removed_tags=%s deals=%s activities=%s',
              (SELECT count(*) FROM l), (SELECT count(*) FROM losers),
              (SELECT sum(jsonb_array_length(moved)) FROM l), (SELECT n FROM removed),
              (SELECT count(*) FROM crm.deals), (SELECT count(*) FROM crm.activities))
  FROM c;
SQL
)
echo "after merging: $detail"
[ "$ok" = t ] || { echo "merged data does not add up"; exit 1; }

# undo every merge, latest first, and compare
psql_db >/dev/null <<'SQL'
SELECT format('CALL crmdedup.unmerge(%s);', merge_id) FROM crmdedup.merge_log ORDER BY merge_id DESC
\gexec
DROP TABLE public.e2e_groups, public.e2e_counts;
SQL
after=$(snapshot)
if [ "$before" != "$after" ]; then
	echo "crm tables differ after unmerge:"
	diff <(echo "$before") <(echo "$after") || true
	exit 1
fi
echo "after unmerging: every crm table equal to before"
echo "$after" | sed 's/^/  /'
dropdb "$db"
echo ok
