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

# expect_grep PATTERN FILE WHAT: FILE must contain the fixed string PATTERN.
expect_grep() {
    if grep -qF -- "$1" "$2"; then pass; else fail "$3: no '$1' in: $(head -c 600 "$2")"; fi
}

# busybox_root DIR: a root filesystem of busybox-static and its applet links.
busybox_root() {
    local bb
    bb=$(command -v busybox) || { echo "skipped: busybox-static is not installed"; exit 77; }
    mkdir -p "$1/bin" "$1/etc" "$1/tmp"
    cp "$bb" "$1/bin/busybox"
    "$bb" --install -s "$1/bin" 2>/dev/null
    # --install links to the host path of busybox; inside the root it is /bin/busybox.
    for l in "$1"/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$1/etc/passwd"
}

# store_state STORE: what a failed command must leave unchanged (the
# records, as listed, and the files that carry content).
store_state() {
    "$KILN" --store "$1" images --no-trunc --format json | sed 's/"CreatedSince":"[^"]*",//'
    (cd "$1" && find blobs layers index.json -printf '%p %s\n' 2>/dev/null | sort)
}

# build_setup: for build tests: root needed; a store in $KILN_STORE with
# bb:local imported from a busybox root; an empty context in $C; exits 77
# (skipped) when this machine cannot run a container.
build_setup() {
    [ "$(id -u)" -eq 0 ] || { echo "skipped: building needs root"; exit 77; }
    busybox_root "$TMP/root"
    export KILN_STORE=$TMP/store
    "$KILN" import "$TMP/root" bb:local >/dev/null || { fail "import"; finish; exit 1; }
    C=$TMP/ctx
    mkdir -p "$C"
    printf 'FROM bb:local\nRUN true\n' >"$TMP/probe.Dockerfile"
    if ! "$KILN" build -q -f "$TMP/probe.Dockerfile" "$C" >"$TMP/out" 2>&1; then
        echo "skipped: no usable OCI runtime: $(tail -1 "$TMP/out")"
        exit 77
    fi
}
