#!/usr/bin/env bash
# kiln build --build-context (SEMANTICS G-15 .. G-17) and --jobs (issue 6,
# points 1 and 6): named contexts from a local directory (with its own
# .dockerignore), docker-image://, oci-layout:// and target:, a context replacing a whole
# stage, sources kiln cannot use; stages one at a time with --jobs 1, a
# stage started before the stage it copies from is built, and the same image
# whatever the number of jobs.
. "$(dirname "$0")/lib.sh"
build_setup
mkdir -p "$TMP/other/sub"
echo hello >"$TMP/other/sub/f"
echo secret >"$TMP/other/skip"
echo skip >"$TMP/other/.dockerignore"

cat >"$C/Dockerfile" <<'DF'
FROM bb:local AS builder
RUN echo compiled > /out && echo builder ran

FROM bb:local AS base2
RUN echo base2 > /out

FROM bb:local AS final
COPY --from=src / /src/
COPY --from=builder /out /out
COPY --from=tools:1 /etc/passwd /tools-passwd
RUN cat /src/sub/f /out && ls -a /src && stat -c '%u:%g' /src/sub/f
DF
"$KILN" tag bb:local tools:real >/dev/null
expect_status 0 "$KILN" build --progress plain --build-context "src=$TMP/other" \
    --build-context tools:1=docker-image://tools:real --build-context builder=target:base2 \
    -t ctx:1 "$C"
# local directory: its own .dockerignore applies; owners are 0:0 (F-13)
grep -qE '^#[0-9]+ [0-9.]+ hello$' "$TMP/err" && pass || fail "local context: $(cat "$TMP/err")"
grep -qE '^#[0-9]+ [0-9.]+ skip$' "$TMP/err" && fail "local context: .dockerignore not applied" || pass
grep -qE '^#[0-9]+ [0-9.]+ 0:0$' "$TMP/err" && pass || fail "local context: owner not 0:0"
# target: replaces the stage builder, whose own instructions never run (G-16)
grep -qE '^#[0-9]+ [0-9.]+ base2$' "$TMP/err" && pass || fail "target context: $(cat "$TMP/err")"
expect_grep "[builder 1/1] FROM target:base2" "$TMP/err" "replaced stage shown as its context"
grep -q "builder ran" "$TMP/err" && fail "the replaced stage's RUN ran" || pass
# docker-image: replaces the image named in --from
expect_grep "[final 4/5] COPY --from=tools:1" "$TMP/err" "image context step"
grep -qE '^#[0-9]+ [0-9.]+ sub$' "$TMP/err" && pass || fail "local context listing"

# a local directory as a base: its files, no config
printf 'FROM rootdir\n' >"$TMP/dir.Dockerfile"
"$KILN" images -q --no-trunc >"$TMP/images.before"
expect_status 0 "$KILN" build -f "$TMP/dir.Dockerfile" --build-context "rootdir=$TMP/other" \
    -o "type=local,dest=$TMP/dirout" "$C"
[ "$(cat "$TMP/dirout/sub/f" 2>/dev/null)" = hello ] && pass || fail "FROM a local context: $(ls -R "$TMP/dirout" 2>&1)"
[ -e "$TMP/dirout/skip" ] && fail "FROM a local context: its .dockerignore not applied" || pass
# ... made as a layer of the build, not as an image of its own: the build's
# result is the one image more in the store
"$KILN" images -q --no-trunc >"$TMP/images.after"
n=$(($(wc -l <"$TMP/images.after") - $(wc -l <"$TMP/images.before")))
[ "$n" -eq 1 ] && pass || fail "FROM a local context: $n images more, want 1"

# oci-layout://DIR[:TAG][@DIGEST]: an image of an OCI image layout, by tag
# (ref.name as kiln writes it, a whole reference, or as OCI and containerd
# write it, the tag alone; "latest" by default) or by digest
printf 'FROM bb:local\nRUN echo from-layout > /marker\n' >"$TMP/lay.Dockerfile"
expect_status 0 "$KILN" build -f "$TMP/lay.Dockerfile" -t lay:v1 -o "type=oci-layout,dest=$TMP/lay" "$C"
python3 - "$TMP/lay" "$TMP/lay2" <<'PY'
import json, shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2])
ix = json.load(open(sys.argv[2] + "/index.json"))
ix["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": "v2"}
json.dump(ix, open(sys.argv[2] + "/index.json", "w"))
PY
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TMP/lay/index.json")
cat >"$TMP/uselay.Dockerfile" <<'DF'
FROM one
COPY --from=two /marker /two
COPY --from=three /marker /three
RUN cat /marker /two /three
DF
expect_status 0 "$KILN" build --progress plain -f "$TMP/uselay.Dockerfile" \
    --build-context "one=oci-layout://$TMP/lay:v1" --build-context "two=oci-layout://$TMP/lay2:v2" \
    --build-context "three=oci-layout://$TMP/lay2@$digest" "$C"
n=$(grep -cE '^#[0-9]+ [0-9.]+ from-layout$' "$TMP/err")
[ "$n" -eq 3 ] && pass || fail "oci-layout contexts: $n files from the layouts, want 3: $(cat "$TMP/err")"
expect_status 2 "$KILN" build -f "$TMP/uselay.Dockerfile" --build-context "one=oci-layout://$TMP/lay" \
    --build-context "two=oci-layout://$TMP/lay2:v2" --build-context "three=oci-layout://$TMP/lay2:v2" "$C"
expect_grep "uselay.Dockerfile:1: build context one=oci-layout://$TMP/lay: index.json lists no image tagged latest" "$TMP/err" "oci-layout: no such tag"
# an index in a layout: each platform gets its own image, also when both
# are asked for in one build; a directory may hold '@'
printf 'FROM bb:local\nRUN echo arm > /marker\n' >"$TMP/arm.Dockerfile"
expect_status 0 "$KILN" build -f "$TMP/arm.Dockerfile" -o "type=oci-layout,dest=$TMP/armlay" "$C"
mkdir -p "$TMP/at@dir"
python3 - "$TMP/lay" "$TMP/armlay" "$TMP/at@dir/multi" <<'PY'
import hashlib, json, os, shutil, sys
amd, arm, out = sys.argv[1:]
shutil.copytree(amd, out)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(out + "/blobs/sha256/" + d, "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
def get(lay, digest):
    return open(lay + "/blobs/sha256/" + digest[7:], "rb").read()
amd_desc = json.load(open(amd + "/index.json"))["manifests"][0]
arm_desc = json.load(open(arm + "/index.json"))["manifests"][0]
m = json.loads(get(arm, arm_desc["digest"]))
cfg = json.loads(get(arm, m["config"]["digest"]))
cfg["architecture"] = "arm64"
m["config"].update(put(json.dumps(cfg).encode()))
for l in m["layers"]:
    put(get(arm, l["digest"]))
arm_m = put(json.dumps(m).encode())
mt = "application/vnd.oci.image.manifest.v1+json"
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": mt, "digest": amd_desc["digest"], "size": amd_desc["size"],
     "platform": {"os": "linux", "architecture": "amd64"}},
    dict(arm_m, mediaType=mt, platform={"os": "linux", "architecture": "arm64"})]}
top = put(json.dumps(idx).encode())
json.dump({"schemaVersion": 2, "manifests": [dict(top, mediaType="application/vnd.oci.image.index.v1+json",
          annotations={"org.opencontainers.image.ref.name": "multi"})]}, open(out + "/index.json", "w"))
PY
cat >"$TMP/multi.Dockerfile" <<'DF'
FROM --platform=linux/amd64 base AS a
FROM --platform=linux/arm64 base AS b
FROM bb:local
COPY --from=a /marker /a
COPY --from=b /marker /b
RUN cat /a /b
DF
expect_status 0 "$KILN" build --progress plain -f "$TMP/multi.Dockerfile" \
    --build-context "base=oci-layout://$TMP/at@dir/multi:multi" "$C"
grep -A1 -E '^#[0-9]+ [0-9.]+ from-layout$' "$TMP/err" | grep -qE '^#[0-9]+ [0-9.]+ arm$' && pass ||
    fail "oci-layout index: one image per platform: $(cat "$TMP/err")"

# a layout whose blob does not match its digest, or whose blob is a link
# out of the layout, is refused, and the store is left as it was
cp -r "$TMP/lay2" "$TMP/lay3"
python3 - "$TMP/lay3" <<'PY'
import json, os, sys
lay = sys.argv[1]
ix = json.load(open(lay + "/index.json"))
m = json.load(open(lay + "/blobs/sha256/" + ix["manifests"][0]["digest"][7:]))
layer = lay + "/blobs/sha256/" + m["layers"][-1]["digest"][7:]
data = bytearray(open(layer, "rb").read())
data[len(data) // 2] ^= 0xff
open(layer, "wb").write(data)
config = lay + "/blobs/sha256/" + m["config"]["digest"][7:]
os.unlink(config)
os.symlink("/etc/hostname", config)
PY
"$KILN" images -q --no-trunc >"$TMP/images.before"
printf 'FROM bad\n' >"$TMP/badlay.Dockerfile"
expect_status 2 "$KILN" build -f "$TMP/badlay.Dockerfile" --build-context "bad=oci-layout://$TMP/lay3:v2" "$C"
expect_grep "build context bad=oci-layout://$TMP/lay3:v2: open blobs/sha256/" "$TMP/err" "oci-layout: a link out of the layout"
python3 - "$TMP/lay3" "$TMP/lay2" <<'PY'
import os, shutil, sys
bad, good = sys.argv[1], sys.argv[2]
for name in os.listdir(bad + "/blobs/sha256"):
    p = bad + "/blobs/sha256/" + name
    if os.path.islink(p):
        os.unlink(p)
        shutil.copy(good + "/blobs/sha256/" + name, p)
PY
expect_status 2 "$KILN" build -f "$TMP/badlay.Dockerfile" --build-context "bad=oci-layout://$TMP/lay3:v2" "$C"
expect_grep "has content with digest" "$TMP/err" "oci-layout: a corrupt layer"
"$KILN" images -q --no-trunc >"$TMP/images.after"
cmp -s "$TMP/images.before" "$TMP/images.after" && pass || fail "a refused layout changed the images"
expect_status 0 "$KILN" store check

# sources kiln cannot use, and missing directories
printf 'FROM bb:local\nCOPY --from=x /a /a\n' >"$TMP/bad.Dockerfile"
expect_status 2 "$KILN" build -f "$TMP/bad.Dockerfile" --build-context x=oci-layout:///nonexistent "$C"
expect_grep "bad.Dockerfile:2: build context x=oci-layout:///nonexistent: No such file or directory" "$TMP/err" "missing oci-layout"
expect_status 2 "$KILN" build -f "$TMP/bad.Dockerfile" --build-context x=https://example.invalid/ctx.tar "$C"
expect_grep "bad.Dockerfile:2: build context x=https://example.invalid/ctx.tar: git and URL sources are not supported" "$TMP/err" "URL context"
expect_status 2 "$KILN" build -f "$TMP/bad.Dockerfile" --build-context "x=$TMP/nonexistent" "$C"
expect_grep "build context x=$TMP/nonexistent: No such file or directory" "$TMP/err" "missing local context"

# --jobs
expect_status 2 "$KILN" build --jobs 0 "$C"
expect_grep "--jobs 0: give a number from 1 to 1024" "$TMP/err" "--jobs 0"
cat >"$TMP/two.Dockerfile" <<'DF'
FROM bb:local AS a
RUN echo a > /a
FROM bb:local AS b
RUN echo b > /b
FROM bb:local AS c
COPY --from=a /a /a
COPY --from=b /b /b
DF
# With one job a stage starts only after the one before it is done.
expect_status 0 "$KILN" build --jobs 1 --progress plain -f "$TMP/two.Dockerfile" "$C"
if python3 - "$TMP/err" <<'PY'; then pass; else fail "--jobs 1 interleaved stages: $(cat "$TMP/err")"; fi
import re, sys
running = set()
for line in open(sys.argv[1]):
    m = re.match(r"#(\d+) \[", line)
    if m:
        assert not running, line
        running.add(m.group(1))
    m = re.match(r"#(\d+) DONE", line)
    if m:
        running.discard(m.group(1))
PY
for j in 1 2 4; do
    expect_status 0 "$KILN" build -q --jobs $j --build-arg SOURCE_DATE_EPOCH=1700000000 -f "$TMP/two.Dockerfile" "$C"
    cp "$TMP/out" "$TMP/id.$j"
done
cmp -s "$TMP/id.1" "$TMP/id.2" && cmp -s "$TMP/id.1" "$TMP/id.4" && pass ||
    fail "image IDs differ with the number of jobs: $(cat "$TMP/id.1" "$TMP/id.2" "$TMP/id.4")"

# With two jobs a stage starts before a stage it copies from is built and
# waits at the COPY (as BuildKit, which schedules steps, not stages). Here
# the copier's first RUN is what lets the source's RUN end: built one after
# the other, the source's listener would time out and the build fail.
port=$((20000 + RANDOM % 20000))
cat >"$TMP/early.Dockerfile" <<DF
FROM bb:local AS src
RUN timeout 60 nc -l -p $port > /got && test -s /got
FROM bb:local AS copier
RUN i=0; until echo early > /sent && nc 127.0.0.1 $port < /sent; do i=\$((i+1)); [ \$i -lt 600 ] || exit 1; sleep 0.1; done
COPY --from=src /got /got
RUN cat /got
DF
expect_status 0 "$KILN" build --jobs 2 --progress plain -f "$TMP/early.Dockerfile" "$C"
grep -qE '^#[0-9]+ [0-9.]+ early$' "$TMP/err" && pass ||
    fail "copier started early: the copied file: $(cat "$TMP/err")"
copier=$(grep -n '\[copier 2/4\]' "$TMP/err" | cut -d: -f1)
src_done=$(sed -n 's/^#\([0-9]*\) \[src 2\/2\] RUN .*/\1/p' "$TMP/err")
src_done=$(grep -n "^#$src_done DONE" "$TMP/err" | cut -d: -f1)
[ -n "$copier" ] && [ -n "$src_done" ] && [ "$copier" -lt "$src_done" ] && pass ||
    fail "copier's RUN did not start before the source stage was done: $(cat "$TMP/err")"

expect_status 0 "$KILN" store check
left=$(ls "$KILN_STORE/tmp" | wc -l)
[ "$left" -eq 0 ] && pass || fail "tmp/ holds $left entries after the builds"
finish
