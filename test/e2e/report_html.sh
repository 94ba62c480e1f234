#!/usr/bin/env bash
# End-to-end: tools/report_html turns the demo CRM's duplicate report into one self-contained,
# well-formed HTML page whose numbers agree with clusters(), with the largest cluster shown
# side by side and matching fields highlighted; a report kept in a table (and exported with
# COPY) gives the same page.  Runs against the cluster scripts/test started (PGHOST, PGPORT,
# PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
db=e2e_report_html
out=build/report_html
rm -rf "$out" && mkdir -p "$out"
dropdb --if-exists "$db"
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION crmdedup' -f demo/schema.sql
python3 demo/generate.py --seed 7 --contacts 1500 | psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null
# the demo's profile (demo/demo.sql)
psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL' >/dev/null
SELECT crmdedup.create_profile('demo_contacts', 'crm.contacts', jsonb_build_object(
    'region', 'RU',
    'fields', jsonb_build_object(
        'full_name', 'person_name',
        'birth_date', 'birth_date',
        'city', 'city',
        'phones', jsonb_build_object('role', 'phone',
                     'from', jsonb_build_object('table', 'contact_phones', 'column', 'phone', 'key', 'contact_id')),
        'emails', jsonb_build_object('role', 'email',
                     'from', jsonb_build_object('table', 'contact_emails', 'column', 'email', 'key', 'contact_id')))));
SELECT crmdedup.analyze('demo_contacts');
SET client_min_messages = warning;
CREATE TABLE kept_clusters AS SELECT * FROM crmdedup.clusters('demo_contacts');
SQL
# the report kept in a table exports with COPY
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
	-c "\\copy (SELECT * FROM kept_clusters ORDER BY cluster_id, id) TO '$out/clusters.csv' WITH (FORMAT csv, HEADER)"
read -r nclusters nrecords nrows largest largest_n < <(psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$db" -c "
	SELECT (SELECT count(DISTINCT cluster_id) FROM kept_clusters), (SELECT count(*) FROM kept_clusters),
	       (SELECT count(*) FROM crm.contacts), cluster_id, n
	  FROM (SELECT cluster_id, count(*) AS n FROM kept_clusters GROUP BY cluster_id
	         ORDER BY count(*) DESC, min(score), cluster_id LIMIT 1) l")
[ "$(($(wc -l <"$out/clusters.csv") - 1))" = "$nrecords" ] || { echo "COPY export has the wrong number of rows"; exit 1; }
members=$(psql -X -At -v ON_ERROR_STOP=1 -d "$db" -c "SELECT string_agg(id, ' ') FROM kept_clusters WHERE cluster_id = '$largest'")

tools/report_html demo_contacts -d "$db" --top 10 -o "$out/report.html"
tools/report_html demo_contacts -d "$db" --top 10 --from-table kept_clusters -o "$out/report_kept.html"
if tools/report_html no_such_profile -d "$db" -o "$out/none.html" 2>"$out/none.err"; then
	echo "an unknown profile must fail"; exit 1
fi
grep -q 'does not exist' "$out/none.err"

python3 - "$out/report.html" "$out/report_kept.html" "$nclusters" "$nrecords" "$nrows" "$largest" "$largest_n" $members <<'PY'
import re
import sys
from html.parser import HTMLParser

path, kept, nclusters, nrecords, nrows, largest, largest_n, *members = sys.argv[1:]
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr"}


class Check(HTMLParser):
    """Every element closed in order; the page refers to nothing outside itself."""

    def __init__(self):
        super().__init__()
        self.stack = []
        self.errors = []
        self.tags = 0

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe") or any(k in a for k in ("src", "href")):
            self.errors.append("external reference or script: <%s %s>" % (tag, attrs))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()


page = open(path, encoding="utf-8").read()
c = Check()
c.feed(page)
c.close()
assert page.startswith("<!DOCTYPE html>"), "no doctype"
assert not c.errors, c.errors[:5]
assert not c.stack, "unclosed: %s" % c.stack
assert '<meta name="crmdedup-clusters" content="%s">' % nclusters in page, "cluster count differs"
assert '<meta name="crmdedup-records" content="%s">' % nrecords in page, "record count differs"
assert '<td class="num" id="total-rows">%s</td>' % nrows in page, "row count differs"
# histograms: one bar per cluster size, sizes add up to the cluster count
sizes = re.search(r"<h2>Cluster sizes</h2>(.*?)</table>", page, re.S).group(1)
counts = [int(n) for n in re.findall(r'<td>\d+</td><td class="num">(\d+)</td>', sizes)]
assert sum(counts) == int(nclusters), (sum(counts), nclusters)
assert "<h2>Member scores</h2>" in page
# the largest cluster, side by side with every member, matched fields highlighted
block = re.search(r'<div class="cluster" id="cluster-%s">(.*?)</div>' % re.escape(largest), page, re.S)
assert block, "largest cluster %s missing" % largest
block = block.group(1)
assert "%s records" % largest_n in block
for m in members:
    assert "<th>%s</th>" % m in block or '<th class="survivor">%s (survivor)</th>' % m in block, "member %s missing" % m
assert block.count("(survivor)") == 1
assert 'class="match"' in block, "no highlighted match"
# the kept table gives the same numbers and clusters
kp = open(kept, encoding="utf-8").read()
strip = lambda s: re.sub(r"<p>Generated .*?</p>", "", s)
assert strip(kp) == strip(page), "report from the kept table differs"
print("report.html: %d tags, %s clusters, %s records, largest cluster %s (%s records) shown"
      % (c.tags, nclusters, nrecords, largest, largest_n))
PY
dropdb "$db"
echo ok
