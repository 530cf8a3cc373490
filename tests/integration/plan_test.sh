#!/usr/bin/env bash
# kiln plan on the seed Dockerfile: text, json and dot outputs, and errors
# (SEMANTICS G-7, G-19, G-20, E-1).
. "$(dirname "$0")/lib.sh"
seed=$SHARED/bench/seed/Dockerfile
if [ -z "$SHARED" ] || [ ! -f "$seed" ]; then
    echo "skipped: $seed not present"
    exit 77
fi

# expect_grep PATTERN FILE WHAT
expect_grep() {
    if grep -qF -- "$1" "$2"; then pass; else fail "$3: no '$1' in: $(head -c 600 "$2")"; fi
}

# Text: the default alias builds local_builder (G-7).
expect_status 0 "$KILN" plan -f "$seed" --target kiro
expect_grep "build  local_builder  needed by kiro (kiro ← FROM runtime ← COPY --from=builder ← builder = local_builder)" "$TMP/out" "default alias"
expect_grep "skip   claude         not reachable from kiro" "$TMP/out" "pruned agent"
expect_grep "  deb:local" "$TMP/out" "base images"
expect_grep "4 of 17 stages to build, 13 skipped, 2 base images; target kiro" "$TMP/out" "summary"

# Text: an image override prunes local_builder.
expect_status 0 "$KILN" plan -f "$seed" --target kiro --build-arg BUILDER_IMAGE=prebuilt:seed
expect_grep "skip   local_builder  builder is image prebuilt:seed (FROM \${BUILDER_IMAGE}, BUILDER_IMAGE=prebuilt:seed)" "$TMP/out" "override"
expect_grep "  prebuilt:seed" "$TMP/out" "override image"

# JSON: the documented shape.
expect_status 0 "$KILN" plan -f "$seed" --target kiro --target claude --format json
if python3 - "$TMP/out" <<'PY'; then pass; else fail "json shape: $(head -c 600 "$TMP/out")"; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["targets"] == ["kiro", "claude"], j["targets"]
assert j["images"] == ["bb:local", "deb:local"], j["images"]
st = {s["name"]: s for s in j["stages"]}
assert len(j["stages"]) == 17
lb = st["local_builder"]
assert lb["index"] == 0 and lb["action"] == "build"
assert lb["base"] == {"kind": "image", "ref": "deb:local", "full": "docker.io/library/deb:local"}, lb["base"]
assert lb["needed_by"] == ["kiro", "claude"], lb["needed_by"]
b = st["builder"]
assert b["base"]["kind"] == "stage" and b["base"]["ref"] == "local_builder"
assert b["edges"][0]["kind"] == "from" and b["edges"][0]["stage"] == "local_builder"
rt = st["runtime"]
copies = [e for e in rt["edges"] if e["kind"] == "copy"]
assert len(copies) == 2 and all(e["stage"] == "builder" and e["image"] is None for e in copies)
assert st["codex"]["action"] == "skip" and st["codex"]["needed_by"] == []
for s in j["stages"]:
    assert set(["index", "name", "base", "action", "reason", "needed_by", "edges"]) <= set(s)
    assert s["base"]["kind"] in ("image", "stage", "context", "scratch")
PY

# JSON with a build context replacing builder: local_builder pruned.
expect_status 0 "$KILN" plan -f "$seed" --target kiro --build-context builder=docker-image://x --format json
if python3 - "$TMP/out" <<'PY'; then pass; else fail "json context: $(head -c 600 "$TMP/out")"; fi
import json, sys
j = json.load(open(sys.argv[1]))
st = {s["name"]: s for s in j["stages"]}
assert st["local_builder"]["action"] == "skip"
assert st["builder"]["base"] == {"kind": "context", "ref": "docker-image://x"}, st["builder"]["base"]
assert j["images"] == ["bb:local", "x:latest"], j["images"]
PY

# DOT: a digraph, pruned stages dashed.
expect_status 0 "$KILN" plan -f "$seed" --target kiro --format dot
expect_grep "digraph plan {" "$TMP/out" "dot header"
expect_grep 's3 [label="kiro"];' "$TMP/out" "dot built stage"
expect_grep 's4 [label="claude", style=dashed' "$TMP/out" "dot pruned stage"
expect_grep 's0 -> s1 [label="FROM"];' "$TMP/out" "dot edge"

# CONTEXT/Dockerfile is the default file.
mkdir -p "$TMP/ctx"
cp "$seed" "$TMP/ctx/Dockerfile"
expect_status 0 "$KILN" plan --format json "$TMP/ctx"

# Warnings go to stderr.
expect_status 0 "$KILN" plan -f "$seed" --build-arg NOPE=1
expect_grep "[Warning] One or more build-args [NOPE] were not consumed" "$TMP/err" "unused build arg"

# Errors: status 2, FILE:LINE where there is one.
expect_status 2 "$KILN" plan -f "$seed" --target kiroo
expect_grep 'target stage "kiroo" could not be found (did you mean kiro?)' "$TMP/err" "unknown target"
printf 'FROM alpine AS a\nCOPY --from=b / /o\nFROM alpine AS b\n' >"$TMP/fwd"
expect_status 2 "$KILN" plan -f "$TMP/fwd" --target a
expect_grep "$TMP/fwd:2: cannot copy from stage \"b\", it needs to be defined before current stage \"a\"" "$TMP/err" "forward copy"
printf 'FROM alpine AS a\nFROM Alpine AS b\nFROM alpine AS c\n' >"$TMP/v9"
expect_status 2 "$KILN" plan -f "$TMP/v9" --target a
expect_grep "$TMP/v9:2: failed to parse stage name \"Alpine\"" "$TMP/err" "invalid reference"
printf 'FROM $NOPE\n' >"$TMP/blank"
expect_status 2 "$KILN" plan -f "$TMP/blank"
expect_grep "$TMP/blank:1: base name (\$NOPE) should not be blank" "$TMP/err" "blank base"
printf 'FROM scratch AS s\nCOPY --from=s a b\n' >"$TMP/cycle"
expect_status 2 "$KILN" plan -f "$TMP/cycle"
expect_grep "circular dependency detected on stage: s" "$TMP/err" "cycle"
expect_status 2 "$KILN" plan -f "$seed" --format yaml
expect_status 1 "$KILN" plan -f "$TMP/missing"

finish
