#!/usr/bin/env bash
# Other tools read what kiln writes and kiln reads what they write (issue 5):
# skopeo and umoci on the store's OCI layout, skopeo on saved archives, and
# docker when it runs here. Tools that are absent are reported as skipped.
. "$(dirname "$0")/lib.sh"
busybox_root "$TMP/root"
S=$TMP/store
expect_status 0 "$KILN" --store "$S" import --change 'CMD ["/bin/sh"]' "$TMP/root" bb
id=$(cat "$TMP/out")
expect_status 0 "$KILN" --store "$S" save -o "$TMP/docker.tar" bb
expect_status 0 "$KILN" --store "$S" save --format oci -o "$TMP/oci.tar" bb
ran=0

if command -v skopeo >/dev/null; then
    ran=1
    pol=$TMP/policy.json
    echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$pol"
    sk() { skopeo --policy "$pol" "$@"; }
    # the store is an OCI layout
    expect_status 0 sk inspect --config "oci:$S:docker.io/library/bb:latest"
    expect_grep '"/bin/sh"' "$TMP/out" "skopeo reads the store's config"
    # saved archives, both formats
    expect_status 0 sk inspect --config "docker-archive:$TMP/docker.tar"
    expect_grep '"/bin/sh"' "$TMP/out" "skopeo reads docker-archive"
    expect_status 0 sk inspect --config "oci-archive:$TMP/oci.tar:docker.io/library/bb:latest"
    expect_grep '"/bin/sh"' "$TMP/out" "skopeo reads oci-archive"
    # copies of kiln's image, written by skopeo, load back with the same ID
    for t in docker-archive oci-archive; do
        rm -f "$TMP/sk.tar"
        extra=""; [ $t = docker-archive ] && extra=":bb:copy"
        expect_status 0 sk copy "oci:$S:docker.io/library/bb:latest" "$t:$TMP/sk.tar$extra"
        expect_status 0 "$KILN" --store "$TMP/s-$t" load -i "$TMP/sk.tar"
        expect_status 0 "$KILN" --store "$TMP/s-$t" images -q --no-trunc
        expect_grep "$id" "$TMP/out" "skopeo $t copy keeps the image ID"
        expect_status 0 "$KILN" --store "$TMP/s-$t" store check
    done
else
    echo "skipped: skopeo is not installed"
fi

if command -v umoci >/dev/null; then
    ran=1
    expect_status 0 umoci ls --layout "$S"
    expect_grep "docker.io/library/bb:latest" "$TMP/out" "umoci lists the store's names"
    cp -a "$S" "$TMP/layout"
    expect_status 0 umoci unpack --image "$TMP/layout:docker.io/library/bb:latest" "$TMP/bundle"
    [ -x "$TMP/bundle/rootfs/bin/busybox" ] && pass || fail "umoci unpack: no bin/busybox"
    expect_grep '"/bin/sh"' "$TMP/bundle/config.json" "umoci sees the config"
else
    echo "skipped: umoci is not installed"
fi

# Debian's docker client (/usr/bin/docker) first: it matches Debian's dockerd.
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker || echo docker)
if "$docker" info >/dev/null 2>&1; then
    ran=1
    expect_status 0 "$docker" load -i "$TMP/docker.tar"
    expect_grep "bb:latest" "$TMP/out" "docker load reads kiln save"
    expect_status 0 "$docker" save -o "$TMP/from-docker.tar" bb:latest
    expect_status 0 "$KILN" --store "$TMP/s-docker" load -i "$TMP/from-docker.tar"
    expect_status 0 "$KILN" --store "$TMP/s-docker" inspect bb
    expect_grep "\"Id\": \"$id\"" "$TMP/out" "kiln loads docker save with the same ID"
    "$docker" rmi bb:latest >/dev/null 2>&1
else
    echo "skipped: docker is not running"
fi
[ $ran -eq 1 ] || { echo "skipped: no skopeo, umoci or docker"; exit 77; }
finish
