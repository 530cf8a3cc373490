#!/usr/bin/env bash
# kiln's benchmarks (make bench). Today: the frontend goal of issue 3, parse
# and expand a generated 10,000-line Dockerfile in under 20 ms.
set -euo pipefail
kiln=$1
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(dirname "$kiln")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$top/bench/gen-dockerfile.sh" 10000 >"$tmp/Dockerfile"
echo "== frontend: parse + expand $(wc -l <"$tmp/Dockerfile") lines, in process"
"$build/bench_parse" "$tmp/Dockerfile" 50
echo
echo "== frontend: whole process, kiln parse --dump, 20 runs"
start=$(date +%s%N)
for _ in $(seq 20); do "$kiln" parse --dump "$tmp/Dockerfile" >/dev/null; done
end=$(date +%s%N)
echo "mean $(((end - start) / 20000000)) ms per run, process start and output included"
