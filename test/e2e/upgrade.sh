#!/usr/bin/env bash
# End-to-end: upgrades.  For every released version (sql/released/crmdedup--V.sql) install V,
# run ALTER EXTENSION crmdedup UPDATE, and compare every object of the extension with a fresh
# install of the current version (test/e2e/extension_objects.sql: definitions, ACLs, columns,
# constraints, indexes, policies, operator classes, casts, dumped config tables).  Then the whole
# pg_regress suite runs in a database whose extension was installed at the oldest release and
# upgraded.  Runs against the cluster scripts/test started (PGHOST, PGPORT, PGUSER set).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out=build/upgrade
rm -rf "$out" && mkdir -p "$out"
psql_db() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" crmdedup.control)
versions=$(ls sql/released/crmdedup--*.sql | sed 's/.*crmdedup--\(.*\)\.sql/\1/' | sort -V)
[ -n "$versions" ] || { echo "no released versions in sql/released"; exit 1; }

dropdb --if-exists upg_fresh && createdb upg_fresh
psql_db upg_fresh -c 'CREATE EXTENSION crmdedup'
psql_db upg_fresh -At -f test/e2e/extension_objects.sql >"$out/fresh.txt"
echo "fresh $current: $(grep -c '^member ' "$out/fresh.txt") objects"

fail=0
for v in $versions; do
	[ "$v" = "$current" ] && continue
	db=upg_from_${v//./_}
	dropdb --if-exists "$db" && createdb "$db"
	psql_db "$db" -c "CREATE EXTENSION crmdedup VERSION '$v'" 2>"$out/$v.create.log" ||
		{ echo "installing $v failed:"; cat "$out/$v.create.log"; fail=1; continue; }
	psql_db "$db" -c 'ALTER EXTENSION crmdedup UPDATE' 2>"$out/$v.update.log" ||
		{ echo "ALTER EXTENSION UPDATE from $v failed:"; cat "$out/$v.update.log"; fail=1; continue; }
	got=$(psql_db "$db" -At -c "SELECT extversion FROM pg_extension WHERE extname = 'crmdedup'")
	[ "$got" = "$current" ] || { echo "from $v: extversion is $got, expected $current"; fail=1; continue; }
	psql_db "$db" -At -f test/e2e/extension_objects.sql >"$out/from_$v.txt"
	if diff -u "$out/fresh.txt" "$out/from_$v.txt" >"$out/from_$v.diff"; then
		echo "from $v: ALTER EXTENSION UPDATE gives the same $(grep -c '^member ' "$out/from_$v.txt") objects as a fresh install"
	else
		echo "from $v: the upgraded extension differs from a fresh install:"
		head -n 60 "$out/from_$v.diff"
		fail=1
	fi
done
[ "$fail" -eq 0 ] || exit 1

# The regression suite against the oldest release, upgraded.
oldest=$(echo "$versions" | head -n 1)
if [ "$oldest" != "$current" ]; then
	dropdb --if-exists upg_suite && createdb upg_suite
	psql_db upg_suite -c "CREATE EXTENSION crmdedup VERSION '$oldest'" -c 'ALTER EXTENSION crmdedup UPDATE'
	pgxs=$(dirname "$(${PG_CONFIG:-pg_config} --pgxs)")
	tests=$(ls sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | sort)
	# shellcheck disable=SC2086
	if "$pgxs/../../src/test/regress/pg_regress" --bindir="$(${PG_CONFIG:-pg_config} --bindir)" \
		--inputdir="$root" --outputdir="$out/suite" --use-existing --dbname=upg_suite $tests >"$out/suite.log" 2>&1; then
		echo "pg_regress suite on $oldest upgraded to $current: $(grep -c '\.\.\. ok' "$out/suite.log") tests passed"
	else
		cat "$out/suite.log"
		[ -f "$out/suite/regression.diffs" ] && head -n 80 "$out/suite/regression.diffs"
		exit 1
	fi
fi
dropdb upg_fresh
