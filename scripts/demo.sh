#!/usr/bin/env bash
# What kiln can do today, run on real files.
set -euo pipefail
kiln=$(realpath "$1") shared=$2 # absolute: the seed part works in its own directory
top=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

seed=$shared/bench/seed/Dockerfile
if [ -f "$seed" ]; then
    say kiln parse --dump "$seed"
    "$kiln" parse --dump "$seed"
    say kiln plan -f "$seed" --target kiro --target claude
    "$kiln" plan -f "$seed" --target kiro --target claude
    say kiln plan -f "$seed" --target kiro --target claude --build-arg BUILDER_IMAGE=prebuilt:seed
    "$kiln" plan -f "$seed" --target kiro --target claude --build-arg BUILDER_IMAGE=prebuilt:seed
else
    echo "($seed not present; skipping the seed Dockerfile)"
fi

example=$top/examples/heredoc.Dockerfile
say cat "$example"
cat "$example"
say kiln parse --dump "$example"
"$kiln" parse --dump "$example"
say kiln parse --format json "$example"
"$kiln" parse --format json "$example"

bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
printf 'FROM busybox\nRUN echo hi\nCOPPY a /b\n' >"$bad"
say kiln parse "$bad" "   # a typo: exit status 2 and FILE:LINE"
"$kiln" parse "$bad" || echo "(exit status $?)"

# The image store: a busybox root imported, listed, saved and loaded back.
if command -v busybox >/dev/null; then
    work=$(mktemp -d)
    trap 'rm -f "$bad"; rm -rf "$work"' EXIT
    mkdir -p "$work/root/bin"
    cp "$(command -v busybox)" "$work/root/bin/busybox"
    for a in sh ls echo cat; do ln -s busybox "$work/root/bin/$a"; done
    export KILN_STORE=$work/store
    say kiln import --change "'CMD [\"/bin/sh\"]'" ./root bb
    "$kiln" import --change 'CMD ["/bin/sh"]' "$work/root" bb
    say kiln tag bb bb:demo
    "$kiln" tag bb bb:demo
    say kiln images
    "$kiln" images
    say kiln save -o bb.tar bb:demo "&&" kiln --store ./other load -i bb.tar
    "$kiln" save -o "$work/bb.tar" bb:demo && "$kiln" --store "$work/other" load -i "$work/bb.tar"
    say kiln store check
    "$kiln" store check
    say kiln rmi bb:demo
    "$kiln" rmi bb:demo
else
    echo "(busybox-static is not installed; skipping the store)"
fi

# The seed story (issue 6): the benchmark's multi-agent Dockerfile built for
# real, each command timed. deb:local (the gcc toolchain) comes from
# scripts/base-images.sh, debootstrapped once (a few minutes) and cached in
# ${KILN_CACHE:-/var/cache/kiln-test}; without it, a stand-in prebuilt:seed
# made on busybox shows the part of the story that needs no compiler.
# timed CMD...: run CMD, then print how long it took
timed() {
    local s e rc=0
    s=$(date +%s%N)
    "$@" || rc=$?
    e=$(date +%s%N)
    printf '\033[2m(%d.%02d s)\033[0m\n' $(((e - s) / 1000000000)) $(((e - s) / 10000000 % 100))
    return $rc
}
if [ ! -f "$seed" ]; then
    echo "($seed not present; skipping the seed build)"
elif [ "$(id -u)" -ne 0 ]; then
    echo "(building needs root; skipping the seed build)"
elif ! command -v busybox >/dev/null; then
    echo "(busybox-static is not installed; skipping the seed build)"
else
    sw=$(mktemp -d /var/tmp/kiln-demo.XXXXXX)
    trap 'rm -f "$bad"; rm -rf "${work:-}" "$sw"' EXIT
    export KILN_STORE=$sw/store
    mkdir -p "$sw/ctx"
    cp "$seed" "$sw/ctx/Dockerfile"
    sh "$shared/bench/seed/gen-src.sh" "$sw/ctx/src"
    cd "$sw/ctx"
    say scripts/base-images.sh --deb "\$KILN_STORE" "   # bb:local, and deb:local from the debootstrap cache"
    deb=1
    timed env KILN="$kiln" "$top/scripts/base-images.sh" --deb "$KILN_STORE" || deb=0
    if [ "$deb" -eq 0 ]; then
        echo "(deb:local cannot be made here, see above: the compile stage is skipped)"
        KILN="$kiln" "$top/scripts/base-images.sh" "$KILN_STORE"
    fi
    "$kiln" images
    printf 'FROM bb:local\nRUN true\n' >"$sw/probe.Dockerfile"
    if ! "$kiln" build -q -f "$sw/probe.Dockerfile" . >"$sw/probe.out" 2>&1; then
        echo "(no usable OCI runtime: $(tail -1 "$sw/probe.out"); skipping the seed build)"
    else
        if [ "$deb" -eq 1 ]; then
            say kiln build --progress plain --target kiro -t kiro . "   # compile in local_builder, then kiro"
            timed "$kiln" build --progress plain --target kiro -t kiro .
            say kiln build --progress plain --target local_builder -t prebuilt:seed . "   # the builder alone, as an image"
            timed "$kiln" build --progress plain --target local_builder -t prebuilt:seed .
        else
            printf 'FROM bb:local\nRUN mkdir /out && for b in core agent broker; do printf "#!/bin/sh\\necho $b stand-in\\n" > /out/$b; chmod +x /out/$b; done\n' >"$sw/fake.Dockerfile"
            say kiln build -f fake.Dockerfile -t prebuilt:seed . "   # a stand-in for the compiled builder"
            timed "$kiln" build --progress plain -f "$sw/fake.Dockerfile" -t prebuilt:seed .
        fi
        say kiln plan --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed
        "$kiln" plan --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed
        say kiln build --progress plain --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed -t kiro2 . "   # no compile"
        timed "$kiln" build --progress plain --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed -t kiro2 .
        say kiln build --target kiro --target codex --target gemini --build-arg BUILDER_IMAGE=prebuilt:seed . "   # three images, runtime once"
        timed "$kiln" build --progress plain --target kiro -t kiro3 --target codex -t codex3 --target gemini -t gemini3 \
            --build-arg BUILDER_IMAGE=prebuilt:seed .
        # the agent is linked against glibc; the busybox runtime has none, so
        # it runs on deb:local (the stand-in is a shell script: it runs anywhere)
        on=bb:local
        [ "$deb" -eq 1 ] && on=deb:local
        printf 'FROM %s\nCOPY --from=kiro2 /usr/local/bin/agent /agent\nCOPY --from=codex3 /etc/agent/kind /kind\nRUN /agent && cat /kind && sha256sum /agent\n' "$on" >"$sw/run.Dockerfile"
        say cat run.Dockerfile
        cat "$sw/run.Dockerfile"
        say kiln build --progress plain -f run.Dockerfile . "   # run what was built"
        timed "$kiln" build --progress plain -f "$sw/run.Dockerfile" .
        say kiln images
        "$kiln" images
        say kiln store check
        timed "$kiln" store check
    fi
    cd "$top"
fi
