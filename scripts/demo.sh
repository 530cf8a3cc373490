#!/usr/bin/env bash
# What kiln can do today, run on real files.
set -euo pipefail
kiln=$1 shared=$2
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
