#!/usr/bin/env bash
# SEMANTICS P-35..P-37 and V-: `kiln parse --dump` reproduces BuildKit's parse
# tree for every case in shared/conformance/buildkit/parser, and rejects every
# case in parser-negative with exit status 2 and FILE:LINE: message.
set -u
. "$(dirname "$0")/lib.sh"

cases=$SHARED/conformance/buildkit
if [ ! -d "$cases/parser" ]; then
    echo "SKIPPED: $cases not present; conformance cases not run"
    exit 77
fi

n_cases=0
for d in "$cases"/parser/*/; do
    name=$(basename "$d")
    n_cases=$((n_cases + 1))
    if "$KILN" parse --dump "$d/Dockerfile" >"$TMP/out" 2>"$TMP/err" && cmp -s "$TMP/out" "$d/result"; then
        pass
    else
        fail "parser/$name: dump differs: $(diff "$TMP/out" "$d/result" | head -5) $(head -c 200 "$TMP/err")"
    fi
done

for d in "$cases"/parser-negative/*/; do
    name=$(basename "$d")
    n_cases=$((n_cases + 1))
    "$KILN" parse --dump "$d/Dockerfile" >"$TMP/out" 2>"$TMP/err"
    status=$?
    if [ "$status" -ne 2 ]; then
        fail "parser-negative/$name: exit $status, want 2"
    elif [ -s "$TMP/out" ]; then
        fail "parser-negative/$name: printed output on failure"
    elif ! grep -Eq "^kiln: .*Dockerfile:[0-9]+: .+" "$TMP/err"; then
        fail "parser-negative/$name: error is not FILE:LINE: message: $(cat "$TMP/err")"
    else
        pass
    fi
done
echo "conformance: $n_cases parser cases run"
finish
