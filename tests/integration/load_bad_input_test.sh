#!/usr/bin/env bash
# kiln load on bad input: a clear error, a non-zero status, and the store
# left exactly as it was (issue 5, point 6). Hostile layers (point 3): no
# entry writes outside its layer.
. "$(dirname "$0")/lib.sh"
S=$TMP/store
A="python3 $(dirname "$0")/archives.py"
outside=$TMP/outside/target
mkdir -p "$TMP/outside"

# A store with one image in it, to compare against after each failure.
$A good-docker "$TMP/good.tar"
expect_status 0 "$KILN" --store "$S" load -i "$TMP/good.tar"
expect_grep "Loaded image: good:1" "$TMP/out" "good archive loads"
store_state "$S" >"$TMP/before"

# case  exit-status  message
while read -r name want msg; do
    $A "$name" "$TMP/$name.tar" "$outside"
    expect_status "$want" "$KILN" --store "$S" load -i "$TMP/$name.tar"
    expect_grep "$msg" "$TMP/err" "$name: message"
    store_state "$S" >"$TMP/after"
    if cmp -s "$TMP/before" "$TMP/after"; then pass; else fail "$name changed the store: $(diff "$TMP/before" "$TMP/after" | head -5)"; fi
    if [ -e "$outside" ] || [ -e "$TMP/escape" ]; then fail "$name wrote outside its layer"; rm -rf "$outside" "$TMP/escape"; else pass; fi
    expect_status 0 "$KILN" --store "$S" store check
done <<'CASES'
truncated 2 kiln: load
wrong-config-digest 1 content has digest
wrong-diff-id 1 but the config lists
known-diff-bad-blob 1 but the image config lists
missing-blob 2 is not in the archive
not-a-tar 1 layer sha256:
bad-name 2 image name Bad Name!
no-manifest 2 neither manifest.json nor index.json
empty 2 kiln: load
dotdot 1 escapes
dotdot-inner 1 escapes
symlink-parent 1 layer sha256:
symlink-dotdot 1 layer sha256:
hardlink-outside 1 layer sha256:
CASES

# Cases that may succeed (the entry is confined to the layer) but must
# never write outside it or follow what they replace.
for name in hardlink-abs symlink-then-dir symlink-then-file; do
    $A "$name" "$TMP/$name.tar" "$outside"
    "$KILN" --store "$S" load -i "$TMP/$name.tar" >"$TMP/out" 2>&1
    if [ -e "$outside" ]; then fail "$name wrote outside its layer"; rm -rf "$outside"; else pass; fi
    expect_status 0 "$KILN" --store "$S" store check
done
# symlink-then-file: the file replaced the symlink inside the layer
if grep -q "Loaded image" "$TMP/out"; then
    layer=$(cd "$S/layers" && for d in *; do [ -f "$d/f" ] && echo "$d"; done | head -1)
    [ -n "$layer" ] && [ ! -L "$S/layers/$layer/f" ] && pass || fail "symlink-then-file: f is not a regular file in the layer"
fi

# Device nodes: created as root; refused with a clear error otherwise.
$A device "$TMP/device.tar"
if [ "$(id -u)" -eq 0 ]; then
    expect_status 0 "$KILN" --store "$S" load -i "$TMP/device.tar"
    if command -v setpriv >/dev/null; then
        mkdir -p "$TMP/userstore" && chown 65534 "$TMP/userstore" "$TMP"
        chmod o+r "$TMP/device.tar"
        setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" --store "$TMP/userstore" load -i "$TMP/device.tar" >"$TMP/out" 2>"$TMP/err"
        st=$?
        [ "$st" -ne 0 ] && pass || fail "a device node loaded without root"
        expect_grep "device" "$TMP/err" "device node error names the cause"
        setpriv --reuid=65534 --regid=65534 --clear-groups "$KILN" --store "$TMP/userstore" store check >"$TMP/out" 2>&1 && pass || fail "user store check: $(cat "$TMP/out")"
    fi
fi
finish
