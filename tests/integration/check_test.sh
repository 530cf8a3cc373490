#!/usr/bin/env bash
# kiln check end to end: exit statuses 0/1/2, text and json output, the
# check directive, .dockerignore from the context (SEMANTICS 8.2, P-10, F-27).
. "$(dirname "$0")/lib.sh"

ctx=$TMP/ctx
mkdir -p "$ctx"

# Clean file: exit 0, a summary line, no findings.
printf 'FROM alpine AS build\nRUN true\nCMD ["sh"]\n' > "$ctx/Dockerfile"
expect_status 0 "$KILN" check "$ctx"
grep -q 'no problems found' "$TMP/out" && pass || fail "clean summary: $(cat "$TMP/out")"

# Findings: exit 1, one line per finding with FILE:LINE: Rule: message.
cat > "$ctx/Dockerfile" <<'DF'
ARG V=1
FROM alpine AS Builder
RUN echo $V
MAINTAINER me
COPY secret.txt /
DF
printf 'secret.txt\n' > "$ctx/.dockerignore"
expect_status 1 "$KILN" check "$ctx"
grep -qx "$ctx/Dockerfile:2: StageNameCasing: Stage name 'Builder' should be lowercase" "$TMP/out" \
    && pass || fail "StageNameCasing line: $(cat "$TMP/out")"
grep -q "^$ctx/Dockerfile:3: GlobalArgNotInScope: " "$TMP/out" && pass || fail "L-23 line"
grep -q "^$ctx/Dockerfile:4: MaintainerDeprecated: " "$TMP/out" && pass || fail "L-8 line"
grep -q "^$ctx/Dockerfile:5: CopyIgnoredFile: Attempting to Copy file \"secret.txt\"" "$TMP/out" \
    && pass || fail "L-18 line"
grep -q '4 problems found$' "$TMP/out" && pass || fail "summary: $(tail -1 "$TMP/out")"
if grep -q 'https://' "$TMP/out"; then fail "text output has URLs"; else pass; fi

# -f and the current directory as the default context.
(cd "$ctx" && "$KILN" check -f Dockerfile >"$TMP/out2" 2>&1)
[ $? -eq 1 ] && grep -q '^Dockerfile:2: StageNameCasing' "$TMP/out2" && pass \
    || fail "-f Dockerfile: $(cat "$TMP/out2")"

# JSON: the findings with rule, line, message, url; error false.
expect_status 1 "$KILN" check --format json "$ctx"
python3 - "$TMP/out" <<'PY' && pass || fail "json shape: $(head -c 400 "$TMP/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["error"] is False
rules = [(f["rule"], f["line"]) for f in d["findings"]]
assert rules == [("StageNameCasing", 2), ("GlobalArgNotInScope", 3),
                 ("MaintainerDeprecated", 4), ("CopyIgnoredFile", 5)], rules
f = d["findings"][0]
assert f["message"] == "Stage name 'Builder' should be lowercase"
assert f["url"] == "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/"
assert d["findings"][1]["url"] is None
PY

# check=skip=... and check=error=true.
printf '# check=skip=StageNameCasing\nFROM alpine AS Builder\n' > "$ctx/Dockerfile"
expect_status 0 "$KILN" check "$ctx"
printf '# check=skip=all\nFROM alpine AS Builder\nMAINTAINER x\n' > "$ctx/Dockerfile"
expect_status 0 "$KILN" check "$ctx"
printf '# check=error=true\nFROM alpine AS Builder\n' > "$ctx/Dockerfile"
expect_status 1 "$KILN" check "$ctx"
grep -q 'fail the build' "$TMP/out" && pass || fail "error=true summary: $(cat "$TMP/out")"
expect_status 1 "$KILN" check --format json "$ctx"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["error"] is True' "$TMP/out" \
    && pass || fail "json error true"

# Bad check option: exit 2 with BuildKit's wording.
printf '# check=bogus=1\nFROM alpine\n' > "$ctx/Dockerfile"
expect_status 2 "$KILN" check "$ctx"
grep -q 'Dockerfile:1: failed to parse check options: invalid check option "bogus"' "$TMP/err" \
    && pass || fail "bad option message: $(cat "$TMP/err")"

# Unparsable files: exit 2.
printf 'FROM alpine\nCOPPY a b\n' > "$ctx/Dockerfile"
expect_status 2 "$KILN" check "$ctx"
grep -q 'Dockerfile:2: unknown instruction: COPPY' "$TMP/err" && pass || fail "parse error: $(cat "$TMP/err")"
: > "$ctx/Dockerfile"
expect_status 2 "$KILN" check "$ctx"

# Usage errors.
expect_status 2 "$KILN" check --format yaml "$ctx"
expect_status 2 "$KILN" check "$ctx" extra
expect_status 0 "$KILN" check --help
grep -q 'Usage: kiln check' "$TMP/out" && pass || fail "help text"

# The seed Dockerfile is clean.
if [ -n "$SHARED" ] && [ -f "$SHARED/bench/seed/Dockerfile" ]; then
    expect_status 0 "$KILN" check -f "$SHARED/bench/seed/Dockerfile" "$TMP"
fi

finish
