#!/usr/bin/env bash
# test/sanitize.sh: the pg_regress and isolation suites with crmdedup built with
# AddressSanitizer and UndefinedBehaviorSanitizer.  Not part of scripts/test (it takes
# minutes); run before landing C changes, preferably into a private PostgreSQL copy:
#   CD_PG_PREFIX=/tmp/pg-asan CD_PORT=54399 ./test/sanitize.sh
# The build happens in a scratch copy of the checkout (build/ and results stay clean, and
# an instrumented crmdedup.so never lands in the checkout's objects).  The postmaster runs
# with gcc's libasan and libubsan preloaded, since PostgreSQL itself is not instrumented
# and the runtime must come first.  Leak detection is off: PostgreSQL frees by memory
# context at the end of a query or a process, which LeakSanitizer reports as leaks.
# Any sanitizer report (a log file under build/sanitize/) fails the run, as does a failing
# suite.  With CD_PG_PREFIX unset it installs into the system PostgreSQL, like valgrind.sh.
#   CD_SANITIZE=address,undefined   (default) or undefined: which sanitizers.
#   CD_SANITIZE_TESTS="phone types"  only these pg_regress tests (default: all, and isolation).
# With libasan, a small library from test/sanitize_preload.c is preloaded after it: without
# it the ASan runtime, initialised lazily inside a library constructor's bindtextdomain(),
# corrupts glibc's _nl_state_lock and the postmaster hangs before its first log line (the
# file says how).
source "$(dirname "$0")/../scripts/lib.sh"
cd "$CD_ROOT"
# only the cluster this script starts may be stopped and removed by its exit trap
unset CD_PGDIR
install_deps
if [ -n "${CD_PG_PREFIX:-}" ] && [ ! -x "$PGBIN/postgres" ]; then
	scripts/private-pg "$CD_PG_PREFIX" >/dev/null
fi
sanitize=${CD_SANITIZE:-address,undefined}
preload=
case ",$sanitize," in *,address,*) preload="$(gcc -print-file-name=libasan.so)" ;; esac
case ",$sanitize," in *,undefined,*) preload="$preload $(gcc -print-file-name=libubsan.so)" ;; esac
for lib in $preload; do [ -f "$lib" ] || { echo "gcc's $lib not found"; exit 1; }; done
logs=$CD_ROOT/build/sanitize
rm -rf "$logs" && mkdir -p "$logs" && chmod 777 "$logs"

scratch=$(mktemp -d /tmp/crmdedup-sanitize.XXXXXX)
chmod 755 "$scratch"
wrapper=$scratch/postgres
trap 'cluster_cleanup; rm -rf "$scratch"' EXIT
case ",$sanitize," in *,address,*)
	gcc -shared -fPIC -O2 -o "$scratch/sanitize_preload.so" "$CD_ROOT/test/sanitize_preload.c"
	preload="$preload $scratch/sanitize_preload.so" ;;
esac
log "building crmdedup with -fsanitize=$sanitize in $scratch"
mkdir "$scratch/tree"
tar -C "$CD_ROOT" --exclude=./build --exclude='./.pg*' --exclude=./results --exclude=./output_iso -cf - . |
	tar -C "$scratch/tree" -xf -
san="-fsanitize=$sanitize -fno-sanitize-recover=all -fno-omit-frame-pointer -g"
cd "$scratch/tree"
make -s clean >/dev/null
# COPT: PGXS adds it to both CFLAGS and LDFLAGS
make -s -j2 COPT="$san"
as_root make -s install COPT="$san" ${PG_CONFIG:+PG_CONFIG=$PG_CONFIG}
cd "$CD_ROOT"

cat >"$wrapper" <<WRAP
#!/bin/sh
export LD_PRELOAD="$preload"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_odr_violation=0:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
exec $PGBIN/postgres "\$@"
WRAP
chmod 755 "$wrapper"
export CD_POSTGRES=$wrapper
CD_PGDIR_NAME=${CD_PGDIR_NAME:-.pg-sanitize}
cluster_start
rc=0
log "pg_regress"
(cd "$scratch/tree" && make -s installcheck ISOLATION= ${CD_SANITIZE_TESTS:+REGRESS="$CD_SANITIZE_TESTS"}) >"$logs/pg_regress.log" 2>&1 || rc=1
log "isolation"
[ -n "${CD_SANITIZE_TESTS:-}" ] || (cd "$scratch/tree" && make -s installcheck REGRESS=) >"$logs/isolation.log" 2>&1 || rc=1
grep -hE '^(test|     ) ' "$logs/pg_regress.log" "$logs/isolation.log" 2>/dev/null | grep -E 'ok|FAILED|failed' || true
for f in "$scratch/tree/regression.diffs" "$scratch/tree/output_iso/regression.diffs"; do
	[ -f "$f" ] && cp "$f" "$logs/" && head -50 "$f"
done
# a backend that hit a sanitizer report aborted: the server log says so too
grep -E 'terminated by signal|AddressSanitizer|runtime error' "$CD_PGDIR/server.log" >"$logs/server-crashes.log" || true
cp "$CD_PGDIR/server.log" "$logs/server.log"
cluster_stop_quiet
reports=$(ls "$logs" | grep -E '^(asan|ubsan)\.' || true)
if [ -n "$reports" ] || [ -s "$logs/server-crashes.log" ]; then
	for r in $reports; do echo "== $r"; head -40 "$logs/$r"; done
	cat "$logs/server-crashes.log"
	echo "sanitize: sanitizer reports (see build/sanitize/)"
	exit 1
fi
[ "$rc" -eq 0 ] || { echo "sanitize: a suite failed under the sanitizers (see build/sanitize/)"; exit 1; }
echo "sanitize: no AddressSanitizer or UndefinedBehaviorSanitizer report; pg_regress and isolation passed"
