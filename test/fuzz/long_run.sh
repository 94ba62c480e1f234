#!/usr/bin/env bash
# test/fuzz/long_run.sh: the long fuzzing run, not part of scripts/test.
#   test/fuzz/long_run.sh [SECONDS] [fuzz_name ...]    (default 600 s, every harness)
# Runs each harness in turn (one at a time, nice 19: the machine is shared) for SECONDS,
# starting from its corpus in test/fuzz/corpus/<name>, then folds the inputs that found
# new coverage back into that corpus with libFuzzer's -merge=1 (so the kept corpus only
# grows by what adds coverage).  Binaries are copied first, so a rebuild during the run
# (scripts/test's "make fuzz") does not swap them.  Exits non-zero if any harness found a
# crash, leak, timeout or sanitizer report; the findings stay in $LONGFUZZ_OUT
# (default /tmp/crmdedup-longfuzz-$USER).
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in test/fuzz/fuzz_*.c; do names+=("$(basename "$f" .c)"); done
fi
# outside build/: "make clean" (every build_install) would delete it mid-run
out=${LONGFUZZ_OUT:-/tmp/crmdedup-longfuzz-$(id -un)}
mkdir -p "$out/bin" "$out/work" "$out/artifacts"
for n in "${names[@]}"; do
	nice -n 19 make -s "build/fuzz/$n" || { echo "$n: build FAILED"; exit 1; }
	cp "build/fuzz/$n" "$out/bin/$n"
done
rc=0
for n in "${names[@]}"; do
	mkdir -p "$out/work/$n" "test/fuzz/corpus/$n"
	start=$(date -u +%FT%TZ)
	if nice -n 19 "$out/bin/$n" -max_total_time="$secs" -max_len=4096 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$n-" \
		"$out/work/$n" "test/fuzz/corpus/$n" >"$out/$n.log" 2>&1; then
		result=ok
	else
		result=FAILED
		rc=1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$n.log")
	# keep only what adds coverage to the corpus in the repository
	nice -n 19 "$out/bin/$n" -merge=1 -max_len=4096 -timeout=10 "test/fuzz/corpus/$n" "$out/work/$n" \
		>"$out/$n.merge.log" 2>&1 || true
	echo "$start $n ${secs}s runs=${runs:-?} corpus=$(ls "test/fuzz/corpus/$n" | wc -l) $result" | tee -a "$out/summary.txt"
done
exit $rc
