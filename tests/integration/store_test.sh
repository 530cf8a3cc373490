#!/usr/bin/env bash
# The image store: import, images, inspect, tag, save, load, rmi, prune,
# store check, name normalisation (issue 5, points 1 and 2).
. "$(dirname "$0")/lib.sh"
S=$TMP/store
busybox_root "$TMP/root"

# import a directory with config changes
expect_status 0 "$KILN" --store "$S" import --change 'ENV GREETING=hello' --change 'CMD ["/bin/sh","-c","echo $GREETING"]' \
    --change 'WORKDIR /tmp' --change 'LABEL org.example.k="v w"' --change 'EXPOSE 8080' "$TMP/root" bb
id=$(cat "$TMP/out")
case $id in sha256:*) pass ;; *) fail "import printed '$id', want an image ID" ;; esac
expect_status 0 "$KILN" --store "$S" images
expect_grep "bb           latest   ${id:7:12}" "$TMP/out" "images table row"
expect_grep "REPOSITORY   TAG      IMAGE ID       CREATED" "$TMP/out" "images header"

# layout on disk: OCI layout whose index names the image
for f in oci-layout index.json meta.db blobs/sha256 layers tmp; do
    if [ -e "$S/$f" ]; then pass; else fail "store has no $f"; fi
done
expect_grep '"org.opencontainers.image.ref.name":"docker.io/library/bb:latest"' "$S/index.json" "index ref.name"
n_layers=$(ls "$S/layers" | wc -l)
[ "$n_layers" -eq 1 ] && pass || fail "want 1 unpacked layer, have $n_layers"
layer=$(ls "$S/layers")
if [ -x "$S/layers/$layer/bin/busybox" ] && [ "$(readlink "$S/layers/$layer/bin/sh")" = /bin/busybox ]; then pass; else fail "layer tree lacks bin/busybox or bin/sh link"; fi

# inspect: docker's shape, the changes applied
expect_status 0 "$KILN" --store "$S" inspect bb
if python3 - "$TMP/out" "$id" <<'PY'; then pass; else fail "inspect: $(head -c 800 "$TMP/out")"; fi
import json, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc, list) and len(doc) == 1, doc
i = doc[0]
assert i["Id"] == sys.argv[2], i["Id"]
assert i["RepoTags"] == ["bb:latest"], i["RepoTags"]
c = i["Config"]
assert "GREETING=hello" in c["Env"], c
assert c["Cmd"] == ["/bin/sh", "-c", "echo $GREETING"], c
assert c["WorkingDir"] == "/tmp", c
assert c["Labels"] == {"org.example.k": "v w"}, c
assert "8080/tcp" in c["ExposedPorts"], c
assert i["Os"] == "linux" and i["Architecture"], i
assert i["RootFS"]["Type"] == "layers" and len(i["RootFS"]["Layers"]) == 1, i
assert i["Size"] > 500000, i["Size"]
assert i["Manifest"].startswith("sha256:")
PY

# the same image by full name, by ID, by ID prefix, by NAME@digest
manifest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Manifest"])' "$TMP/out")
for ref in docker.io/library/bb:latest docker.io/library/bb "$id" "${id:7:12}" "bb@$manifest"; do
    expect_status 0 "$KILN" --store "$S" inspect "$ref"
    expect_grep "\"Id\": \"$id\"" "$TMP/out" "inspect $ref"
done
expect_status 2 "$KILN" --store "$S" inspect bbb
expect_grep "no such image: bbb (did you mean bb:latest?)" "$TMP/err" "suggestion"
expect_status 2 "$KILN" --store "$S" inspect 'Not/Valid'

# tag, then save is deterministic and loads into another store with the same ID
expect_status 0 "$KILN" --store "$S" tag bb example.com:5000/team/bb:v1
expect_status 0 "$KILN" --store "$S" images
expect_grep "example.com:5000/team/bb" "$TMP/out" "tagged name listed"
expect_status 0 "$KILN" --store "$S" save -o "$TMP/a.tar" bb example.com:5000/team/bb:v1
sleep 1.1 # different wall clock, same bytes
expect_status 0 "$KILN" --store "$S" save -o "$TMP/b.tar" bb example.com:5000/team/bb:v1
cmp -s "$TMP/a.tar" "$TMP/b.tar" && pass || fail "two saves of the same images differ"
expect_status 0 tar -xOf "$TMP/a.tar" manifest.json
expect_grep '"RepoTags":["bb:latest","example.com:5000/team/bb:v1"]' "$TMP/out" "docker manifest.json RepoTags"
expect_status 0 "$KILN" --store "$TMP/s2" load -i "$TMP/a.tar"
expect_grep "Loaded image: bb:latest" "$TMP/out" "load output"
expect_grep "Loaded image: example.com:5000/team/bb:v1" "$TMP/out" "load output 2"
expect_status 0 "$KILN" --store "$TMP/s2" inspect bb
expect_grep "\"Id\": \"$id\"" "$TMP/out" "loaded image keeps its ID"
# from standard input, as an OCI archive
expect_status 0 "$KILN" --store "$S" save --format oci -o "$TMP/o.tar" bb
expect_status 0 tar -tf "$TMP/o.tar"
if grep -qx manifest.json "$TMP/out"; then fail "oci format has a manifest.json"; else pass; fi
"$KILN" --store "$TMP/s3" load <"$TMP/o.tar" >"$TMP/out" 2>&1 && pass || fail "load from stdin: $(cat "$TMP/out")"
expect_grep "Loaded image: bb:latest" "$TMP/out" "oci load output"
expect_status 0 "$KILN" --store "$TMP/s3" store check

# import from a tar, a tar.gz and standard input: same layer, same diff ID
tar -C "$TMP/root" -cf "$TMP/root.tar" .
gzip -c "$TMP/root.tar" >"$TMP/root.tar.gz"
expect_status 0 "$KILN" --store "$S" import "$TMP/root.tar" fromtar
expect_status 0 "$KILN" --store "$S" import "$TMP/root.tar.gz" fromgz
"$KILN" --store "$S" import - fromstdin <"$TMP/root.tar" >"$TMP/out" 2>&1 && pass || fail "import -: $(cat "$TMP/out")"
diffs=$(for n in fromtar fromgz fromstdin; do "$KILN" --store "$S" inspect $n | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RootFS"]["Layers"][0])'; done | sort -u | wc -l)
[ "$diffs" -eq 1 ] && pass || fail "tar, tar.gz and stdin imports have $diffs different diff IDs"
# several names of several images: each image once in manifest.json, with all its names
expect_status 0 "$KILN" --store "$S" tag fromtar fromtar:two
expect_status 0 "$KILN" --store "$S" save -o "$TMP/m.tar" bb example.com:5000/team/bb:v1 fromtar fromtar:two
expect_status 0 tar -xOf "$TMP/m.tar" manifest.json
if python3 - "$TMP/out" <<'PY'; then pass; else fail "manifest.json of 4 names: $(cat "$TMP/out")"; fi
import json, sys
m = json.load(open(sys.argv[1]))
tags = sorted(sorted(i["RepoTags"]) for i in m)
assert tags == [["bb:latest", "example.com:5000/team/bb:v1"], ["fromtar:latest", "fromtar:two"]], tags
PY
expect_status 2 "$KILN" --store "$S" import --change 'RUN true' "$TMP/root.tar" x
expect_grep "RUN is not supported by --change" "$TMP/err" "bad --change"

# rmi: by name untags; the last name deletes
expect_status 0 "$KILN" --store "$S" rmi example.com:5000/team/bb:v1
expect_grep "Untagged: example.com:5000/team/bb:v1" "$TMP/out" "rmi untag"
if grep -q Deleted "$TMP/out"; then fail "rmi deleted an image that still has a name"; else pass; fi
expect_status 0 "$KILN" --store "$S" rmi fromtar fromgz fromstdin
expect_grep "Deleted: sha256:" "$TMP/out" "rmi delete"
expect_status 2 "$KILN" --store "$S" rmi nosuch
expect_status 0 "$KILN" --store "$S" store check
expect_grep "no problems" "$TMP/out" "store check ok"

# prune: leftovers of killed processes go; images in use stay
mkdir -p "$S/layers/$(printf '%064d' 7)" && echo junk >"$S/blobs/sha256/$(printf '%064d' 8)"
expect_status 0 "$KILN" --store "$S" prune
expect_grep "deleted layer sha256:$(printf '%064d' 7)" "$TMP/out" "prune leftover layer"
expect_grep "deleted blob sha256:$(printf '%064d' 8)" "$TMP/out" "prune leftover blob"
expect_grep "Total reclaimed space:" "$TMP/out" "prune total"
expect_status 0 "$KILN" --store "$S" inspect bb
[ -x "$S/layers/$layer/bin/busybox" ] && pass || fail "prune removed a layer in use"

# store check finds a damaged blob and exits 1
blob=$(ls "$S/blobs/sha256" | head -1)
chmod u+w "$S/blobs/sha256/$blob"; printf 'x' >>"$S/blobs/sha256/$blob"
expect_status 1 "$KILN" --store "$S" store check
expect_grep "blob sha256:$blob: content has digest" "$TMP/out" "check names the blob"

# a store whose creation was killed (only a temporary file in it) opens
mkdir -p "$TMP/halfmade" && touch "$TMP/halfmade/.kn-tmp-1-0"
expect_status 0 "$KILN" --store "$TMP/halfmade" images
expect_status 2 "$KILN" --store "" images
# store location: $KILN_STORE; a non-empty directory that is no store is refused
KILN_STORE="$TMP/envstore" expect_status 0 "$KILN" images
[ -f "$TMP/envstore/oci-layout" ] && pass || fail "KILN_STORE not used"
mkdir -p "$TMP/notastore" && echo x >"$TMP/notastore/file"
expect_status 2 "$KILN" --store "$TMP/notastore" images
expect_grep "is not a kiln store" "$TMP/err" "refuse a foreign directory"
finish
