#!/usr/bin/env bash
# Crash safety (issue 5, point 4): kill load, import, save, rmi and prune
# with SIGKILL at every moment where the store changes on disk (kiln's
# KILN_CRASH_AT=N fault injection raises SIGKILL at the Nth such moment),
# and at random moments from outside. After each kill `kiln store check`
# must pass and the same command, run again, must work.
. "$(dirname "$0")/lib.sh"
busybox_root "$TMP/root"
A="python3 $(dirname "$0")/archives.py"
base=$TMP/base
"$KILN" --store "$base" import "$TMP/root" bb >/dev/null || { fail "import"; finish; exit 1; }
"$KILN" --store "$base" tag bb other >/dev/null
"$KILN" --store "$base" save -o "$TMP/bb.tar" bb other
$A good-oci "$TMP/oci.tar"
# An extra image for rmi and prune to delete, and an unnamed one for prune.
tar -C "$TMP/root" -cf "$TMP/root.tar" bin
"$KILN" --store "$base" import "$TMP/root.tar" victim >/dev/null
"$KILN" --store "$base" load -i "$TMP/oci.tar" >/dev/null
"$KILN" --store "$base" rmi good:oci >/dev/null
# A dangling image for prune: "old" moves to another image, leaving it unnamed.
tar -C "$TMP/root" -cf "$TMP/etc.tar" etc
"$KILN" --store "$base" import "$TMP/etc.tar" old >/dev/null
"$KILN" --store "$base" import "$TMP/root.tar" old >/dev/null

total=0
# crash_points FROM WHAT CHECK CMD...: CMD runs on a fresh copy of the store
# FROM ("" for none: a new store), killed at moment 1, 2, ... until it
# completes; CHECK is a command that must succeed after the rerun. The rerun
# is CMD itself, or $RERUN when set (for a command that may have finished
# its work before it was killed).
crash_points() {
    local from=$1 what=$2 check=$3 n=1 st
    shift 3
    while :; do
        rm -rf "$TMP/s"
        if [ -n "$from" ]; then cp -a "$from" "$TMP/s"; fi
        KILN_CRASH_AT=$n "$@" >"$TMP/out" 2>"$TMP/err"
        st=$?
        if [ "$st" -eq 0 ]; then break; fi
        if [ "$st" -ne 137 ]; then fail "$what: exit $st at crash point $n: $(cat "$TMP/err")"; break; fi
        "$KILN" --store "$S" store check >"$TMP/check" 2>&1 || fail "$what killed at point $n: store check: $(cat "$TMP/check")"
        if [ -n "${RERUN:-}" ]; then $RERUN; else "$@"; fi >"$TMP/out" 2>"$TMP/err" || fail "$what killed at point $n: rerun failed: $(cat "$TMP/err")"
        eval "$check" || fail "$what killed at point $n: after the rerun, '$check' failed"
        "$KILN" --store "$S" store check >"$TMP/check" 2>&1 || fail "$what killed at point $n: store check after rerun: $(cat "$TMP/check")"
        n=$((n + 1))
        if [ $n -gt 200 ]; then fail "$what: more than 200 crash points, runaway?"; break; fi
    done
    echo "$what: killed at $((n - 1)) moments"
    total=$((total + n - 1))
    pass
}

kiln() { "$KILN" --store "$S" "$@"; }
S=$TMP/s
crash_points "" "load into a new store" 'kiln inspect other >/dev/null' kiln load -i "$TMP/bb.tar"
crash_points "$base" "load (layers shared)" 'kiln inspect good:oci >/dev/null' kiln load -i "$TMP/oci.tar"
crash_points "$base" "import" 'kiln inspect newimg >/dev/null' kiln import "$TMP/root" newimg
crash_points "$base" "save" 'tar -tf "$TMP/saved.tar" | grep -qx manifest.json' kiln save -o "$TMP/saved.tar" bb other
# rmi may be killed after its commit: then the image is already gone.
rmi_again() { if kiln inspect victim >/dev/null 2>&1; then kiln rmi victim; fi; }
RERUN=rmi_again crash_points "$base" "rmi" '! kiln inspect victim >/dev/null 2>&1' kiln rmi victim
crash_points "$base" "prune" '[ -z "$(kiln images --format json | grep "\"Repository\":\"<none>\"")" ]' kiln prune

# From outside, at random moments: kill -9 a load after 0-40 ms.
for i in $(seq 1 10); do
    rm -rf "$TMP/s" && cp -a "$base" "$TMP/s"
    "$KILN" --store "$TMP/s" load -i "$TMP/oci.tar" >/dev/null 2>&1 &
    pid=$!
    sleep "0.0$((RANDOM % 40))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    "$KILN" --store "$TMP/s" store check >"$TMP/check" 2>&1 || fail "random kill $i: $(cat "$TMP/check")"
    "$KILN" --store "$TMP/s" load -i "$TMP/oci.tar" >/dev/null 2>&1 || fail "random kill $i: load after kill failed"
done
pass

echo "crash points in total: $total"
[ "$total" -ge 50 ] && pass || fail "only $total distinct crash points, want at least 50"
finish
