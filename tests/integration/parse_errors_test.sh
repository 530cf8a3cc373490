#!/usr/bin/env bash
# SEMANTICS E-1, P-22, I-3, P-33: a bad Dockerfile gives exit status 2, one
# "kiln: FILE:LINE: message" line on stderr, and nothing on stdout.
set -u
. "$(dirname "$0")/lib.sh"

# check NAME LINE MESSAGE-REGEX DOCKERFILE-TEXT
check() {
    local name=$1 line=$2 want=$3 text=$4
    printf '%b' "$text" >"$TMP/$name"
    for mode in "" "--dump"; do
        "$KILN" parse $mode "$TMP/$name" >"$TMP/out" 2>"$TMP/err"
        local status=$?
        if [ "$mode" = "--dump" ] && [ "$5" = "instr" ]; then
            continue # instruction-level errors are not the parser's (P-35)
        fi
        if [ "$status" -ne 2 ]; then
            fail "$name $mode: exit $status, want 2"
        elif [ -s "$TMP/out" ]; then
            fail "$name $mode: printed output on failure"
        elif ! grep -Eq "^kiln: $TMP/$name:$line: $want" "$TMP/err"; then
            fail "$name $mode: stderr $(cat "$TMP/err"), want $name:$line: $want"
        else
            pass
        fi
    done
}

check unknown 3 'unknown instruction: COPPY \(did you mean COPY\?\)' 'FROM a\nRUN x\nCOPPY a /b\n' instr
check badflag 2 'unknown flag: --form \(did you mean from\?\)' 'FROM a\nCOPY --form=x a /b\n' instr
check notaken 2 'unknown flag: --from' 'FROM a\nRUN --from=x echo\n' instr
check heredoc 2 'unterminated heredoc' 'FROM a\nRUN <<EOF\necho\n' parse
check emptycont 2 'empty continuation at end of file' 'FROM a\n\\\n\n' parse
check json 2 'when using JSON array syntax' 'FROM a\nCMD ["a", 1]\n' parse
check nostage 1 'no build stage in current context' 'RUN x\nFROM a\n' instr

# Any bytes, any size: a 1 MiB line is rejected cleanly, random bytes never crash.
head -c 1048576 /dev/zero | tr '\0' 'a' | sed 's/^/RUN /' >"$TMP/long"
expect_status 2 "$KILN" parse --dump "$TMP/long"
grep -q "greater than max allowed size of 65535" "$TMP/err" && pass || fail "long line message: $(cat "$TMP/err")"
for i in $(seq 20); do
    head -c 4096 /dev/urandom >"$TMP/random"
    "$KILN" parse --dump "$TMP/random" >/dev/null 2>"$TMP/err"
    status=$?
    if [ "$status" -eq 0 ] || [ "$status" -eq 2 ]; then pass; else fail "random input $i: exit $status"; fi
done

# Usage errors: exit 2 and a one-line hint.
expect_status 2 "$KILN" nosuchcommand
grep -q "Run 'kiln --help' for usage" "$TMP/err" && pass || fail "no hint for an unknown command"
expect_status 2 "$KILN" pars x
grep -q 'did you mean parse' "$TMP/err" && pass || fail "no suggestion for pars"
expect_status 2 "$KILN" parse --bogus x
grep -q "Run 'kiln parse --help' for usage" "$TMP/err" && pass || fail "no hint for a bad flag"
expect_status 0 "$KILN" --version
grep -Eq '^kiln version [0-9]' "$TMP/out" && pass || fail "--version output: $(cat "$TMP/out")"
expect_status 0 "$KILN" parse --help
grep -q 'Usage: kiln parse' "$TMP/out" && pass || fail "parse --help output"
finish
