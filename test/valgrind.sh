#!/usr/bin/env bash
# test/valgrind.sh: the pg_regress suite with every backend under valgrind memcheck.
# Not part of scripts/test (it takes minutes); run before landing C changes:
#   ./test/valgrind.sh        -> prints the errors whose stack passes through crmdedup
#   CD_VALGRIND_TESTS="guards reports" CD_VALGRIND_ISOLATION="guard_block" ./test/valgrind.sh
#                             -> only these pg_regress and isolation tests
# PostgreSQL's own allocator is not instrumented in Debian's build, so only errors in or
# under crmdedup's code are counted; the full logs stay in build/valgrind/.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$CD_ROOT"
install_deps valgrind
build_install
mkdir -p build/valgrind
rm -f build/valgrind/*.log
chmod 777 build/valgrind
# The postmaster runs under valgrind and every backend it forks inherits it.
wrapper=$(mktemp /tmp/crmdedup-vg.XXXXXX)
cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=no --leak-check=no \
  --num-callers=30 --log-file=$CD_ROOT/build/valgrind/%p.log $PGBIN/postgres "\$@"
WRAP
chmod 755 "$wrapper"
export CD_POSTGRES=$wrapper
trap 'cluster_cleanup; rm -f "$wrapper"' EXIT
cluster_start
subset=()
if [ -n "${CD_VALGRIND_TESTS:-}" ]; then
	subset=(REGRESS="$CD_VALGRIND_TESTS" ISOLATION="${CD_VALGRIND_ISOLATION:-}")
fi
make -s installcheck "${subset[@]}" || true
cluster_stop_quiet
# an error report is a block starting "==PID== <message>" up to the next blank report line
errors=$(awk '/^==[0-9]+== [A-Z][a-z]/ {blk=$0; inblk=1; next}
	inblk && /^==[0-9]+== $/ {if (blk ~ /crmdedup/) print blk "\n"; inblk=0; next}
	inblk {blk = blk "\n" $0}' build/valgrind/*.log)
if [ -n "$errors" ]; then
	echo "$errors"
	echo "valgrind: errors in crmdedup code"
	exit 1
fi
echo "valgrind: no errors in crmdedup code ($(ls build/valgrind/*.log | wc -l) processes checked)"
