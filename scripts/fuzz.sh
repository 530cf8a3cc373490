#!/usr/bin/env bash
# Run every libFuzzer harness in BUILD_DIR for SECONDS each, seeded from the
# conformance cases and tests/fuzz/seeds/<harness>/. Fails on any crash.
set -euo pipefail
build=$1 seconds=$2 shared=$3
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for fz in "$build"/fuzz_*; do
    [ -x "$fz" ] || continue
    name=$(basename "$fz")
    corpus="$build/corpus/$name"
    mkdir -p "$corpus"
    seeds=()
    [ -d "$top/tests/fuzz/seeds/$name" ] && seeds+=("$top/tests/fuzz/seeds/$name")
    case $name in
    fuzz_df_parse)
        if [ -d "$shared/conformance/buildkit" ]; then
            for d in "$shared"/conformance/buildkit/parser*/*/; do
                cp -f "$d/Dockerfile" "$corpus/seed-$(basename "$d")" 2>/dev/null || true
            done
        fi
        cp -f "$shared"/bench/seed/Dockerfile "$corpus/seed-bench" 2>/dev/null || true
        ;;
    fuzz_expand)
        if [ -f "$shared/conformance/buildkit/shell/envVarTest" ]; then
            i=0
            while IFS='|' read -r _ input _; do
                printf '%s' "$(echo "$input" | sed 's/^ *//;s/ *$//')" > "$corpus/seed-env-$i"
                i=$((i + 1))
            done < <(grep -v '^#' "$shared/conformance/buildkit/shell/envVarTest" | grep '|')
        fi
        ;;
    esac
    echo "== fuzz $name for ${seconds}s"
    log="$build/$name.log"
    if ! "$fz" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/$name-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
        echo "FAILED: $name (see $log)"
        tail -n 40 "$log"
        status=1
    else
        grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$log" | tail -n 2
    fi
done
exit $status
