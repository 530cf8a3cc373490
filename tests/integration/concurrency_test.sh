#!/usr/bin/env bash
# Several kiln processes on one store at once (issue 5, point 5): loading
# the same layers, importing, tagging, removing and pruning side by side
# never fail and never leave the store inconsistent.
. "$(dirname "$0")/lib.sh"
busybox_root "$TMP/root"
A="python3 $(dirname "$0")/archives.py"
S=$TMP/store
"$KILN" --store "$S" import "$TMP/root" bb >/dev/null || { fail "import"; finish; exit 1; }
"$KILN" --store "$S" save -o "$TMP/bb.tar" bb
"$KILN" --store "$S" rmi bb >/dev/null
$A good-oci "$TMP/oci.tar"
$A good-docker "$TMP/docker.tar"
rounds=6

worker() { # worker ID: each writes its own failures to $TMP/fail.ID
    local id=$1 i
    for i in $(seq 1 $rounds); do
        case $id in
        load*) "$KILN" --store "$S" load -i "$TMP/bb.tar" ;;
        oci) "$KILN" --store "$S" load -i "$TMP/oci.tar" && "$KILN" --store "$S" load -i "$TMP/docker.tar" ;;
        import) "$KILN" --store "$S" import "$TMP/root" "imp$i" && "$KILN" --store "$S" rmi "imp$i" ;;
        tag) "$KILN" --store "$S" load -i "$TMP/bb.tar" && "$KILN" --store "$S" tag bb "t$i" \
                && "$KILN" --store "$S" inspect "t$i" && "$KILN" --store "$S" rmi "t$i" ;;
        prune) "$KILN" --store "$S" prune && "$KILN" --store "$S" images ;;
        esac >/dev/null 2>"$TMP/err.$id.$i" || echo "$id round $i: $(cat "$TMP/err.$id.$i")" >>"$TMP/fail.$id"
    done
}
pids=()
for w in load1 load2 oci import tag prune; do
    worker $w &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for f in "$TMP"/fail.*; do
    [ -e "$f" ] && fail "$(cat "$f")"
done
pass
expect_status 0 "$KILN" --store "$S" store check
expect_status 0 "$KILN" --store "$S" inspect bb good:1 good:oci
# nothing left in tmp/ by the processes that finished
left=$(ls "$S/tmp" | wc -l)
[ "$left" -eq 0 ] && pass || fail "tmp/ holds $left work directories after every process ended"
finish
