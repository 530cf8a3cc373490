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

# Issue 4 goals: `kiln plan --format json` in under 5 ms of process time on
# the seed Dockerfile and under 50 ms on a generated 1,000-stage Dockerfile.
# Process time = user + system CPU of the child, averaged over the runs.
shared=${2:-}
cpu_ms() { # cpu_ms RUNS CMD...: mean user+sys CPU per run, in ms
    local runs=$1
    shift
    python3 - "$runs" "$@" <<'PY'
import resource, subprocess, sys
runs = int(sys.argv[1]); cmd = sys.argv[2:]
b = resource.getrusage(resource.RUSAGE_CHILDREN)
for _ in range(runs):
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
a = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % ((a.ru_utime - b.ru_utime + a.ru_stime - b.ru_stime) / runs * 1000))
PY
}
echo
echo "== plan: process start alone (kiln --version), for reference"
echo "$(cpu_ms 50 "$kiln" --version) ms CPU per run"
seed=${shared:+$shared/bench/seed/Dockerfile}
if [ -n "$seed" ] && [ -f "$seed" ]; then
    echo "== plan: kiln plan --format json on the seed Dockerfile (goal < 5 ms)"
    echo "$(cpu_ms 50 "$kiln" plan -f "$seed" --format json) ms CPU per run"
else
    echo "(seed Dockerfile not found; pass the shared dir as the second argument)"
fi
"$top/bench/gen-stages.sh" 1000 >"$tmp/Stages.Dockerfile"
echo "== plan: kiln plan --format json on 1,000 stages (goal < 50 ms)"
echo "$(cpu_ms 20 "$kiln" plan -f "$tmp/Stages.Dockerfile" --format json) ms CPU per run"
echo "== plan: phases in process, 1,000 stages"
"$build/bench_plan" "$tmp/Stages.Dockerfile" 20

echo
"$top/bench/store.sh" "$kiln"

# Issue 6: the build scenarios of bench/README.md, side by side with BuildKit
# and buildah (each where it is there).
"$top/bench/build.sh" "$kiln" "$shared"
