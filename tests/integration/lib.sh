# Shared helpers for the integration tests (tests/integration/*_test.sh).
: "${KILN:?KILN must point at the kiln binary}"
SHARED=${KN_SHARED_DIR:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n_pass=0
n_fail=0

pass() { n_pass=$((n_pass + 1)); }
fail() {
    n_fail=$((n_fail + 1))
    echo "FAIL: $*" >&2
}

# expect_status WANT CMD...: run CMD, compare its exit status.
expect_status() {
    local want=$1
    shift
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then pass; else fail "$* exited $got, want $want: $(head -c 300 "$TMP/err")"; fi
}

# finish: print the closing line; non-zero status on any failure.
finish() {
    echo "$n_pass passed, $n_fail failed"
    [ "$n_fail" -eq 0 ]
}
