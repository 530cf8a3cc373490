#!/usr/bin/env bash
# Build benchmarks (issue 6, bench/README.md in the shared dir): the scenarios
# S1, S3, S4, S5, S6 and S7, kiln on a fresh store holding bb:local, deb:local
# and prebuilt:seed, side by side in the same run with BuildKit (Docker's
# engine, when `/usr/bin/docker info` answers) and, for S1 and S4 as
# bench/README.md has them, buildah (`buildah bud --layers --runtime=runc`,
# when installed). S2 and S8 need a build cache, which kiln does not have
# yet. Medians of RUNS runs (default 3) after one warm-up. Prints a table:
# kiln s, BuildKit s, the speedup (BuildKit/kiln), buildah s and the goal;
# for S5 also the bare compile (the same gcc commands on the host) and kiln's
# overhead over it. Timing never fails the benchmark; a kiln build that
# fails does (after the table).
#
#   bench/build.sh KILN [SHARED]     (needs root, as building does)
set -uo pipefail
kiln=$(realpath "$1")
shared=${2:-}
runs=${RUNS:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
seed=${shared:+$shared/bench/seed}
echo
echo "== build: scenarios of bench/README.md, medians of $runs runs (after one warm-up)"
if [ "$(id -u)" -ne 0 ]; then
    echo "(building needs root: no build benchmarks)"
    exit 0
fi
tmp=$(mktemp -d /var/tmp/kiln-bench-build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export KILN_STORE=$tmp/store
docker=/usr/bin/docker
dk() { DOCKER_BUILDKIT=1 "$docker" "$@"; }
have_docker=0
"$docker" info >/dev/null 2>&1 && have_docker=1

# median SETUP SNIPPET: median seconds of a bash snippet over $runs runs after
# one warm-up, SETUP run untimed before each; "error" if the snippet fails
# (its output then goes to $tmp/last.err).
median() {
    python3 - "$runs" "$1" "$2" "$tmp/last.err" <<'PY'
import statistics, subprocess, sys, time
runs, setup, snippet, errf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
times = []
for i in range(runs + 1):
    subprocess.run(["bash", "-c", setup], check=True)
    t = time.monotonic()
    p = subprocess.run(["bash", "-c", snippet], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    d = time.monotonic() - t
    if p.returncode:
        open(errf, "wb").write(p.stderr)
        print("error")
        sys.exit(0)
    if i:
        times.append(d)
print("%.3f" % statistics.median(times))
PY
}
# kmed SETUP SNIPPET: median of a kiln snippet; a failure is remembered
kmed() {
    local m
    m=$(median "$1" "$2")
    if [ "$m" = error ]; then
        touch "$tmp/kiln.failed"
        echo "kiln failed: $2: $(tail -3 "$tmp/last.err")" >&2
    fi
    echo "$m"
}
# refmed HAVE NAME SETUP SNIPPET: median of a reference builder's snippet,
# "-" when that builder is not there (HAVE 0); a failure is said, not fatal
refmed() {
    if [ "$1" -eq 0 ]; then echo -; return; fi
    local m
    m=$(median "$3" "$4")
    [ "$m" = error ] && echo "$2 failed: $4: $(tail -3 "$tmp/last.err")" >&2
    echo "$m"
}
dmed() { refmed "$have_docker" docker "$@"; }
bmed() { refmed "$have_buildah" buildah "$@"; }

# base images
start=$SECONDS
deb=1
if ! KILN=$kiln "$top/scripts/base-images.sh" ${seed:+--deb} "$KILN_STORE" 2>"$tmp/base.err"; then
    deb=0
    echo "(deb:local cannot be made: $(tail -1 "$tmp/base.err"); S1, S3, S5 skipped)"
    KILN=$kiln "$top/scripts/base-images.sh" "$KILN_STORE" 2>/dev/null || { echo "(no bb:local: no build benchmarks)"; exit 0; }
fi
if [ -z "$seed" ] || [ ! -f "$seed/Dockerfile" ]; then
    deb=0
    echo "(the seed workload is not there (pass the shared dir): S1, S3, S5 skipped)"
fi
echo "base images in kiln: $((SECONDS - start)) s"

# contexts
if [ "$deb" -eq 1 ]; then
    mkdir -p "$tmp/seed"
    cp "$seed/Dockerfile" "$tmp/seed/"
    sh "$seed/gen-src.sh" "$tmp/seed/src"
fi
mkdir -p "$tmp/s4" "$tmp/s6" "$tmp/s7"
{
    echo "FROM bb:local"
    for i in $(seq 10); do echo "RUN echo $i > /a$i"; done
} >"$tmp/s4/Dockerfile"
cat >"$tmp/s6/Dockerfile" <<'DF'
FROM bb:local
RUN mkdir /data && i=0 && while [ $i -lt 200 ]; do head -c 1048576 /dev/urandom > /data/f$i; i=$((i+1)); done
DF
python3 - "$tmp/s7/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
for d in range(50):
    os.makedirs(os.path.join(root, "d%02d" % d))
    for f in range(100):
        with open(os.path.join(root, "d%02d" % d, "f%03d.txt" % f), "wb") as fh:
            fh.write(rnd.randbytes(1024).hex().encode())
PY
printf 'FROM bb:local\nCOPY src /app/src\nRUN find /app/src -type f | wc -l\n' >"$tmp/s7/Dockerfile"

# prebuilt:seed for kiln and, with the base images, for docker
if [ "$deb" -eq 1 ]; then
    start=$SECONDS
    if ! "$kiln" build -q --target local_builder -t prebuilt:seed "$tmp/seed" >/dev/null 2>"$tmp/pre.err"; then
        echo "kiln failed to build prebuilt:seed: $(tail -3 "$tmp/pre.err")" >&2
        touch "$tmp/kiln.failed"
        deb=0
    fi
    echo "prebuilt:seed in kiln: $((SECONDS - start)) s"
fi
if [ "$have_docker" -eq 1 ]; then
    start=$SECONDS
    imgs=bb:local
    [ "$deb" -eq 1 ] && imgs="bb:local deb:local"
    # the images an earlier run left under these names (removed once replaced)
    old_ids=$("$docker" image inspect -f '{{.Id}}' bb:local deb:local prebuilt:seed 2>/dev/null)
    # shellcheck disable=SC2086
    if ! "$kiln" save $imgs | "$docker" load >"$tmp/dload.out" 2>&1; then
        echo "(docker load of kiln's base images failed: $(tail -2 "$tmp/dload.out"); no BuildKit figures)"
        have_docker=0
    fi
    if [ "$have_docker" -eq 1 ] && [ "$deb" -eq 1 ] &&
        ! dk build -q --target local_builder -t prebuilt:seed "$tmp/seed" >/dev/null 2>"$tmp/dpre.err"; then
        echo "(docker failed to build prebuilt:seed: $(tail -2 "$tmp/dpre.err"); no BuildKit figures)"
        have_docker=0
    fi
    new_ids=$("$docker" image inspect -f '{{.Id}}' bb:local deb:local prebuilt:seed 2>/dev/null)
    for id in $old_ids; do
        case " $(echo $new_ids) " in *" $id "*) ;; *) "$docker" rmi "$id" >/dev/null 2>&1 ;; esac
    done
    [ "$have_docker" -eq 1 ] && echo "base images and prebuilt:seed in docker: $((SECONDS - start)) s ($("$docker" version --format '{{.Server.Version}}'))"
else
    echo "(docker is not running: no BuildKit figures)"
fi
# buildah: the same base images, from kiln's archives, in its own storage
have_buildah=0
runc=$(command -v runc || true)
if ! command -v buildah >/dev/null || [ -z "$runc" ]; then
    echo "(buildah or runc is not installed: no buildah figures)"
else
    start=$SECONDS
    have_buildah=1
    imgs=bb:local
    [ "$deb" -eq 1 ] && imgs="bb:local prebuilt:seed"
    for img in $imgs; do
        if ! "$kiln" save -o "$tmp/bh.tar" "$img" 2>"$tmp/bh.err" ||
            ! buildah pull -q "docker-archive:$tmp/bh.tar" >"$tmp/bh.id" 2>>"$tmp/bh.err" ||
            ! buildah tag "$(cat "$tmp/bh.id")" "$img" 2>>"$tmp/bh.err"; then
            echo "(buildah could not take $img: $(tail -2 "$tmp/bh.err"); no buildah figures)"
            have_buildah=0
            break
        fi
    done
    rm -f "$tmp/bh.tar"
    [ "$have_buildah" -eq 1 ] && echo "base images in buildah: $((SECONDS - start)) s ($(buildah --version))"
fi
bh="buildah bud --layers --no-cache --runtime=$runc -q"

rows=()
row() { # row ID SCENARIO KILN BUILDKIT GOAL [BUILDAH]
    local sp=-
    case "$3$4" in *-* | *error*) ;; *) sp=$(python3 -c "print('%.2fx' % ($4 / $3))") ;; esac
    rows+=("$(printf '%-3s %-64s %8s %9s %8s %8s   %s' "$1" "$2" "$3" "$4" "$sp" "${6:--}" "$5")")
}
agents=$(sed -nE 's/^FROM runtime AS ([a-z]+)$/\1/p' "$tmp/seed/Dockerfile" 2>/dev/null)
nc='--no-cache'

if [ "$deb" -eq 1 ]; then
    k=$(kmed true "'$kiln' build -q $nc --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed '$tmp/seed'")
    d=$(dmed true "DOCKER_BUILDKIT=1 $docker build -q $nc --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed '$tmp/seed' >>'$tmp/dids'")
    b=$(bmed true "$bh --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed '$tmp/seed' >>'$tmp/bids'")
    row S1 "--target kiro, prebuilt builder, no cache" "$k" "$d" "10x" "$b"

    kt=$(for a in $agents; do printf -- '--target %s ' "$a"; done)
    db=$(for a in $agents; do printf 'DOCKER_BUILDKIT=1 %s build -q %s --target %s --build-arg BUILDER_IMAGE=prebuilt:seed %q >>%q && ' "$docker" "$nc" "$a" "$tmp/seed" "$tmp/dids"; done)
    n=$(echo "$agents" | wc -w)
    k=$(kmed true "'$kiln' build -q $nc $kt --build-arg BUILDER_IMAGE=prebuilt:seed '$tmp/seed'")
    d=$(dmed true "${db}true")
    row S3 "all $n agent targets, prebuilt builder (kiln 1 run, docker $n)" "$k" "$d" "15x"
fi

k=$(kmed true "'$kiln' build -q $nc '$tmp/s4'")
d=$(dmed true "DOCKER_BUILDKIT=1 $docker build -q $nc '$tmp/s4' >>'$tmp/dids'")
b=$(bmed true "$bh '$tmp/s4' >>'$tmp/bids'")
row S4 "FROM bb:local + 10 RUN echo N > /aN, no cache" "$k" "$d" "15x" "$b"

if [ "$deb" -eq 1 ]; then
    # S5: kiln, BuildKit and the bare compile (the same gcc commands on the
    # host) interleaved run by run, so that the load of a shared machine
    # falls on all three alike
    rm -rf "$tmp/bare" && cp -r "$tmp/seed/src" "$tmp/bare"
    dsnip=
    [ "$have_docker" -eq 1 ] && dsnip="DOCKER_BUILDKIT=1 $docker build -q $nc --target kiro '$tmp/seed' >>'$tmp/dids'"
    read -r k5 d5 bare < <(python3 - "$runs" "$tmp/last.err" \
        "'$kiln' build -q $nc --target kiro '$tmp/seed'" "$dsnip" \
        "rm -rf '$tmp/bare/out' && cd '$tmp/bare' && mkdir -p out && for b in core agent broker; do gcc -O2 -o out/\$b -DNAME=\\\"\$b\\\" main.c gen*.c || exit 1; done" <<'PY'
import statistics, subprocess, sys, time
runs, errf, snippets = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times = [[] for _ in snippets]
bad = [False for _ in snippets]
for i in range(runs + 1):
    for j, sn in enumerate(snippets):
        if not sn or bad[j]:
            continue
        t = time.monotonic()
        p = subprocess.run(["bash", "-c", sn], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        d = time.monotonic() - t
        if p.returncode:
            bad[j] = True
            open(errf, "ab").write(p.stderr)
        elif i:
            times[j].append(d)
print(" ".join("error" if b else "-" if not sn else "%.3f" % statistics.median(t)
               for sn, b, t in zip(snippets, bad, times)))
PY
    )
    [ "$k5" = error ] && { touch "$tmp/kiln.failed"; echo "kiln failed: S5: $(tail -3 "$tmp/last.err")" >&2; }
    row S5 "--target kiro, compile from source, no cache (interleaved runs)" "$k5" "$d5" "overhead < 5%"
fi

k=$(kmed "rm -f '$tmp/s6k.tar'" "'$kiln' build -q $nc -t s6:bench '$tmp/s6' && '$kiln' save -o '$tmp/s6k.tar' s6:bench")
d=$(dmed "rm -f '$tmp/s6d.tar'" "DOCKER_BUILDKIT=1 $docker build -q $nc -t s6:bench '$tmp/s6' >>'$tmp/dids' && $docker save -o '$tmp/s6d.tar' s6:bench")
row S6 "RUN writing 200 x 1 MiB random, build + save docker-archive" "$k" "$d" "3x"

k=$(kmed true "'$kiln' build -q $nc '$tmp/s7'")
d=$(dmed true "DOCKER_BUILDKIT=1 $docker build -q $nc '$tmp/s7' >>'$tmp/dids'")
row S7 "5,000 files of 2 KiB: COPY src /app/src + one RUN, no cache" "$k" "$d" "4x"

echo
printf '%-3s %-64s %8s %9s %8s %8s   %s\n' id scenario "kiln s" "BuildKit" speedup buildah goal
for r in "${rows[@]}"; do echo "$r"; done
if [ "$deb" -eq 1 ]; then
    echo
    echo "S5: bare compile on the host (same gcc commands, $(gcc --version | head -1)): ${bare}s"
    case "$k5$bare" in
    *error* | *-*) ;;
    *) echo "S5: kiln overhead over the bare compile: $(python3 -c "print('%.1f%%' % (($k5 - $bare) / $bare * 100))") (goal < 5%)" ;;
    esac
    case "$d5$bare" in
    *error* | *-*) ;;
    *) echo "S5: BuildKit overhead over the bare compile: $(python3 -c "print('%.1f%%' % (($d5 - $bare) / $bare * 100))")" ;;
    esac
fi
echo "(S2 and S8 need a build cache: not measured yet)"

# docker keeps every image the runs made: remove them (the base images and
# prebuilt:seed stay, so the next run loads them quickly)
if [ "$have_docker" -eq 1 ]; then
    "$docker" rmi -f s6:bench >/dev/null 2>&1 || true
    [ -s "$tmp/dids" ] && sort -u "$tmp/dids" | xargs "$docker" rmi -f >/dev/null 2>&1
fi
# buildah too: the built images, then what --layers left unnamed
if [ "$have_buildah" -eq 1 ]; then
    [ -s "$tmp/bids" ] && sort -u "$tmp/bids" | xargs buildah rmi -f >/dev/null 2>&1
    buildah rmi --prune >/dev/null 2>&1 || true
fi
[ ! -e "$tmp/kiln.failed" ] || { echo "a kiln build failed (see above)" >&2; exit 1; }
