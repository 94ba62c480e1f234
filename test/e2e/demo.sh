#!/usr/bin/env bash
# End-to-end: the demo's generator is deterministic, its CRM loads, demo.sql runs, and the
# normalized keys find clearly more of the true duplicates than exact comparison does.
# Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_demo
a=$(python3 demo/generate.py --seed 7 --contacts 1500 | md5sum)
b=$(python3 demo/generate.py --seed 7 --contacts 1500 | md5sum)
c=$(python3 demo/generate.py --seed 8 --contacts 1500 | md5sum)
[ "$a" = "$b" ] || { echo "generator is not deterministic"; exit 1; }
[ "$a" != "$c" ] || { echo "generator ignores the seed"; exit 1; }

dropdb --if-exists "$db"
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crmdedup' -f demo/schema.sql
python3 demo/generate.py --seed 7 --contacts 1500 | psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d "$db" -f demo/demo.sql >/tmp/e2e_demo.out
grep -q 'any of these' /tmp/e2e_demo.out

# recall of contact pairs sharing a key, raw text vs crmdedup keys
read -r raw_recall norm_recall norm_precision < <(psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
WITH keys AS (
    SELECT p.contact_id, 'p' AS kind, p.phone AS raw,
           crmdedup.phone_e164(p.phone, coalesce(c.country, 'ZZ')) AS norm
      FROM crm.contact_phones p JOIN crm.contacts c ON c.id = p.contact_id
    UNION ALL
    SELECT contact_id, 'e', lower(email), crmdedup.email_key(email) FROM crm.contact_emails
),
raw_pairs AS (
    SELECT DISTINCT x.contact_id AS a, y.contact_id AS b FROM keys x
      JOIN keys y ON y.kind = x.kind AND y.raw = x.raw AND y.contact_id > x.contact_id
),
norm_pairs AS (
    SELECT DISTINCT x.contact_id AS a, y.contact_id AS b FROM keys x
      JOIN keys y ON y.kind = x.kind AND y.norm = x.norm AND y.contact_id > x.contact_id
),
truth AS (
    SELECT x.contact_id AS a, y.contact_id AS b FROM crm.demo_truth x
      JOIN crm.demo_truth y ON y.original_id = x.original_id AND y.contact_id > x.contact_id
)
SELECT round((SELECT count(*) FROM raw_pairs JOIN truth USING (a, b))::numeric / (SELECT count(*) FROM truth), 3),
       round((SELECT count(*) FROM norm_pairs JOIN truth USING (a, b))::numeric / (SELECT count(*) FROM truth), 3),
       round((SELECT count(*) FROM norm_pairs JOIN truth USING (a, b))::numeric / (SELECT count(*) FROM norm_pairs), 3);
SQL
)
echo "phone+email pairs: recall raw $raw_recall, crmdedup $norm_recall (precision $norm_precision)"
awk -v r="$raw_recall" -v n="$norm_recall" -v p="$norm_precision" \
	'BEGIN { exit !(n >= r + 0.2 && n >= 0.7 && p >= 0.85) }' ||
	{ echo "normalized keys do not find enough more duplicates"; exit 1; }
dropdb "$db"
echo ok
