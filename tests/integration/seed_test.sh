#!/usr/bin/env bash
# The seed story (issue 6, point 8): the benchmark's multi-agent Dockerfile
# (bench/seed in the shared dir) built for real on a fresh store holding
# bb:local and deb:local (scripts/base-images.sh; deb:local is debootstrapped
# once and cached in ${KILN_CACHE:-/var/cache/kiln-test}, which takes a few
# minutes the first time on a machine).
#   (a) --target kiro compiles in local_builder and makes kiro;
#   (b) --target local_builder -t prebuilt:seed holds /out/{core,agent,broker};
#   (c) --build-arg BUILDER_IMAGE=prebuilt:seed runs no step of local_builder
#       and gives the same /usr/local/bin/agent;
#   (d) three targets in one run build builder and runtime once.
# Then the store checks clean and nothing is left mounted.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "skipped: building needs root"; exit 77; }
seed=${SHARED:+$SHARED/bench/seed}
[ -n "$seed" ] && [ -f "$seed/Dockerfile" ] && [ -f "$seed/gen-src.sh" ] ||
    { echo "skipped: the seed workload is not there (KN_SHARED_DIR=${SHARED:-unset})"; exit 77; }
top=${KN_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export KILN_STORE=$TMP/store
t0=$SECONDS

# base images; deb:local is the slow part the first time (debootstrap)
start=$SECONDS
KILN=$KILN "$top/scripts/base-images.sh" --deb "$KILN_STORE" 2>"$TMP/base.err"
rc=$?
echo "base images (bb:local, deb:local): $((SECONDS - start)) s"
case $rc in
0) ;;
3) echo "skipped: deb:local cannot be made here: $(tail -1 "$TMP/base.err")"; exit 77 ;;
*) fail "scripts/base-images.sh exited $rc: $(tail -3 "$TMP/base.err")"; finish; exit 1 ;;
esac

C=$TMP/ctx
mkdir -p "$C"
cp "$seed/Dockerfile" "$C/Dockerfile"
sh "$seed/gen-src.sh" "$C/src" || { fail "gen-src.sh"; finish; exit 1; }

# probe: can this machine run a container at all?
printf 'FROM bb:local\nRUN true\n' >"$TMP/probe.Dockerfile"
if ! "$KILN" build -q -f "$TMP/probe.Dockerfile" "$C" >"$TMP/out" 2>&1; then
    echo "skipped: no usable OCI runtime: $(tail -1 "$TMP/out")"
    exit 77
fi

# timed KILN build ... : expect_status 0, and say how long it took
build() {
    local s=$SECONDS
    expect_status 0 "$KILN" build --progress plain "$@"
    echo "kiln build $*: $((SECONDS - s)) s"
}
# run_in NAME DOCKERFILE-TEXT: build a throw-away check image; its RUN
# output is left in $TMP/err
run_in() {
    printf '%b' "$2" >"$TMP/$1.Dockerfile"
    expect_status 0 "$KILN" build --progress plain -f "$TMP/$1.Dockerfile" "$C"
}
# the sha256 a check build printed for PATH
sum_of() { sed -nE "s|^#[0-9]+ [0-9.]+ ([0-9a-f]{64})  $1\$|\1|p" "$TMP/err" | head -1; }

# (a) the whole chain, compile included
build --target kiro -t kiro "$C"
expect_grep "[local_builder 4/4] RUN mkdir -p /out" "$TMP/err" "(a) local_builder compiles"
expect_grep "[builder 2/2] RUN test -x /out/core" "$TMP/err" "(a) builder checks the binaries"
expect_grep "[kiro 3/4] RUN echo kiro > /etc/agent/kind" "$TMP/err" "(a) kiro's own step"
expect_grep "naming to docker.io/library/kiro:latest done" "$TMP/err" "(a) kiro tagged"
expect_status 0 "$KILN" inspect kiro
if python3 - "$TMP/out" <<'PY'; then pass; else fail "(a) kiro config: $(head -c 1500 "$TMP/out")"; fi
import json, sys
c = json.load(open(sys.argv[1]))[0]["Config"]
assert c["Entrypoint"] == ["/usr/local/bin/agent"], c
assert "AGENT_KIND=kiro" in c["Env"] and "AGENT_HOME=/var/lib/agent" in c["Env"], c
PY
run_in kiro-files 'FROM kiro\nRUN test -x /usr/local/bin/agent && test -x /usr/local/bin/core && cat /etc/agent/kind && sha256sum /usr/local/bin/agent\n'
expect_grep " kiro" "$TMP/err" "(a) /etc/agent/kind"
sum_kiro=$(sum_of /usr/local/bin/agent)
[ -n "$sum_kiro" ] && pass || fail "(a) no sha256 of /usr/local/bin/agent in: $(tail -5 "$TMP/err")"
# The agent is linked against glibc and the busybox runtime has none (as in
# BuildKit), so it runs on deb:local, copied out of the kiro image.
run_in kiro-run 'FROM deb:local\nCOPY --from=kiro /usr/local/bin/agent /usr/local/bin/agent\nRUN /usr/local/bin/agent\n'
grep -qE '^#[0-9]+ [0-9.]+ agent [0-9]+$' "$TMP/err" && pass || fail "(a) agent did not run: $(tail -5 "$TMP/err")"

# (b) the builder stage alone, as the prebuilt image
build --target local_builder -t prebuilt:seed "$C"
expect_grep "naming to docker.io/library/prebuilt:seed done" "$TMP/err" "(b) prebuilt:seed tagged"
if grep -qE '\[(builder|runtime|kiro) ' "$TMP/err"; then fail "(b) ran stages after local_builder"; else pass; fi
run_in prebuilt-files 'FROM prebuilt:seed\nRUN ls /out && test -x /out/core && test -x /out/agent && test -x /out/broker && sha256sum /out/agent\n'
sum_prebuilt=$(sum_of /out/agent)
[ -n "$sum_prebuilt" ] && pass || fail "(b) /out/agent missing: $(tail -5 "$TMP/err")"

# (c) the prebuilt builder: no step of local_builder runs
build --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed -t kiro2 "$C"
if grep -qF "[local_builder" "$TMP/err"; then fail "(c) local_builder ran with BUILDER_IMAGE=prebuilt:seed"; else pass; fi
expect_grep "[builder 1/2] FROM docker.io/library/prebuilt:seed" "$TMP/err" "(c) builder is prebuilt:seed"
run_in kiro2-files 'FROM kiro2\nRUN sha256sum /usr/local/bin/agent\n'
sum_kiro2=$(sum_of /usr/local/bin/agent)
[ -n "$sum_kiro2" ] && [ "$sum_kiro2" = "$sum_kiro" ] && [ "$sum_kiro2" = "$sum_prebuilt" ] && pass ||
    fail "(c) agents differ: kiro $sum_kiro, prebuilt:seed $sum_prebuilt, kiro2 $sum_kiro2"

# (d) three targets in one run: builder and runtime once, three images
build --target kiro -t kiro3 --target codex -t codex3 --target gemini -t gemini3 \
    --build-arg BUILDER_IMAGE=prebuilt:seed "$C"
for s in builder runtime kiro codex gemini; do
    n=$(grep -c "\[$s 1/" "$TMP/err")
    [ "$n" -eq 1 ] && pass || fail "(d) stage $s started $n times, want once"
done
if grep -qF "[local_builder" "$TMP/err"; then fail "(d) local_builder ran"; else pass; fi
for t in kiro3 codex3 gemini3; do expect_grep "naming to docker.io/library/$t:latest done" "$TMP/err" "(d) $t tagged"; done
n=$(grep -c '^writing image sha256:' "$TMP/err")
[ "$n" -eq 3 ] && pass || fail "(d) $n images written, want 3"
run_in three 'FROM bb:local\nCOPY --from=kiro3 /etc/agent/kind /k\nCOPY --from=codex3 /etc/agent/kind /c\nCOPY --from=gemini3 /etc/agent/kind /g\nCOPY --from=codex3 /usr/local/bin/agent /agent\nRUN echo $(cat /k /c /g) && sha256sum /agent\n'
expect_grep " kiro codex gemini" "$TMP/err" "(d) each target's own step"
[ "$(sum_of /agent)" = "$sum_kiro" ] && pass || fail "(d) codex3's agent differs from kiro's"

# the store is sound and nothing is left behind
expect_status 0 "$KILN" store check
if grep -qF " $KILN_STORE" /proc/self/mountinfo; then fail "mounts left under the store"; else pass; fi
left=$(ls "$KILN_STORE/tmp" 2>/dev/null | wc -l)
[ "$left" -eq 0 ] && pass || fail "tmp/ holds $left entries after the builds"
echo "seed test: $((SECONDS - t0)) s in all"
finish
