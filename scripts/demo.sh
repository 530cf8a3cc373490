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
