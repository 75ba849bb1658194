#!/usr/bin/env bash
# Fuzzes each libFuzzer target of test/fuzz for SECONDS seconds (default 60)
# and prints, per target, executions per second, corpus growth and findings.
#
#   bench/fuzz.sh [SECONDS] [TARGET ...]     # targets: dump_reader bson_convert doc_transform
#
# Builds the targets with Debian's clang (CMake option NEXTCRM_FUZZ, in
# build-fuzz/), starts from the seed corpus test/fuzz/<target>/ and grows a
# working copy of it in build-fuzz/corpus/<target>/.  A crash, leak, timeout or
# sanitizer report is written to build-fuzz/findings/<target>/; copy it into
# test/fuzz/<target>/ with a fix, so the unit suite replays it from then on.
# Runs under nice: the machine is shared.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(dump_reader bson_convert doc_transform)
build=$root/build-fuzz

clangxx=$(command -v clang++ || command -v clang++-14) || { echo "clang++ not found (scripts/install-deps)" >&2; exit 1; }
clangc=$(command -v clang || command -v clang-14)
if [[ ! -f $build/build.ninja ]]; then
    CC=$clangc CXX=$clangxx cmake -S "$root" -B "$build" -G Ninja -DNEXTCRM_FUZZ=ON >/dev/null || exit 1
fi
nice cmake --build "$build" --target "${targets[@]/#/fuzz_}" >/dev/null || exit 1

status=0
printf '%-14s %8s %10s %12s %8s %s\n' target seconds execs execs/s corpus findings
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t findings=$build/findings/$t log=$build/fuzz_$t.log
    mkdir -p "$corpus" "$findings"
    # -rss_limit_mb: a leak or runaway allocation is a finding, not a swap storm.
    nice "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" \
        "$corpus" "$root/test/fuzz/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
    size=$(find "$corpus" -type f | wc -l)
    found=$(find "$findings" -type f | wc -l)
    printf '%-14s %8s %10s %12s %8s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$size" "$found"
    if ((rc != 0 || found > 0)); then
        status=1
        grep -E 'ERROR: |SUMMARY: |^artifact_prefix|Test unit written' "$log" | head -5 | sed 's/^/    /'
    fi
done
exit $status
