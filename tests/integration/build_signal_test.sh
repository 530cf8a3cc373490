#!/usr/bin/env bash
# kiln build leaves nothing behind (issue 6, point 6): after SIGINT, SIGTERM,
# a Ctrl-C that reaches the whole process group, a signal as a RUN step
# starts, a successful build and a failed one, with two stages built side
# by side (a failure in one, an interrupt, one waiting at COPY --from), and
# an interrupt during a COPY, no mount under the store, no container
# process, no runtime process and no entry in the store's tmp/ may remain,
# and `kiln store check` must pass. A signal gives exit status 128 + its
# number (130, 143).
. "$(dirname "$0")/lib.sh"
build_setup

# A sleep no other test runs, so pgrep finds only this test's processes.
# Whatever a failed case leaves (processes, by pid; mounts under this
# test's store) is removed when the test ends.
SECS=$((3000 + $$ % 997))
clean_up() {
    local pids
    pids=$(pgrep -f "sleep $SECS")
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    awk -v s="$KILN_STORE" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf "$TMP"
}
trap clean_up EXIT

# wait_for PATTERN FILE: until FILE has a line matching the extended regex
# (a build's progress), at most 30 s; fails when it never comes.
wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
        grep -qE -- "$1" "$2" && return 0
        sleep 0.05
    done
    return 1
}

# wait_exit PID: the status of the background kiln PID, which must exit
# within 30 s of its signal (else it is killed and 255 returned).
wait_exit() {
    local i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -9 "$1"
        wait "$1"
        return 255
    fi
    wait "$1"
}

# nothing_left WHAT PID: nothing of kiln process PID's build remains.
nothing_left() {
    local what=$1 pid=$2 left
    if grep -qF " $KILN_STORE" /proc/self/mountinfo; then
        fail "$what: mounts left under the store: $(grep -F " $KILN_STORE" /proc/self/mountinfo | head -3)"
    else pass; fi
    left=$(pgrep -af "sleep $SECS")
    [ -z "$left" ] && pass || fail "$what: container processes left: $left"
    # the runtime's own processes carry the container ID kiln-PID-N
    left=$(pgrep -af "kiln-$pid-")
    [ -z "$left" ] && pass || fail "$what: runtime processes left: $left"
    left=$(ls -A "$KILN_STORE/tmp" 2>/dev/null)
    [ -z "$left" ] && pass || fail "$what: tmp/ holds: $left"
    "$KILN" store check >"$TMP/check" 2>&1 && pass || fail "$what: store check: $(cat "$TMP/check")"
}

# interrupt WHAT SIGNAL TARGET WAIT_PATTERN WANT_STATUS WANT_MESSAGE: start
# a build whose RUN prints "started" then sleeps, wait until its progress
# matches WAIT_PATTERN, send SIGNAL to kiln (TARGET "pid") or to its
# process group (TARGET "group", as a terminal's Ctrl-C does), and check
# the exit status, the message and what is left.
interrupt() {
    local what=$1 sig=$2 target=$3 pattern=$4 want=$5 message=$6 pid st
    printf 'FROM bb:local\nRUN echo started && sleep %s\n' "$SECS" >"$TMP/sleep.Dockerfile"
    : >"$TMP/err"
    if [ "$target" = group ]; then
        setsid "$KILN" build --progress plain -f "$TMP/sleep.Dockerfile" "$C" 2>"$TMP/err" &
    else
        "$KILN" build --progress plain -f "$TMP/sleep.Dockerfile" "$C" 2>"$TMP/err" &
    fi
    pid=$!
    if ! wait_for "$pattern" "$TMP/err"; then
        fail "$what: the RUN step never got to '$pattern': $(cat "$TMP/err")"
        kill -9 "$pid" 2>/dev/null
        wait "$pid"
        return
    fi
    if [ "$target" = group ]; then kill -"$sig" -- -"$pid"; else kill -"$sig" "$pid"; fi
    wait_exit "$pid"
    st=$?
    [ "$st" -eq "$want" ] && pass || fail "$what: exit status $st, want $want: $(cat "$TMP/err")"
    expect_grep "kiln: $message" "$TMP/err" "$what: message"
    # BuildKit marks a step stopped by an interrupt CANCELED, not failed.
    grep -qE '^#2 CANCELED$' "$TMP/err" && pass || fail "$what: no CANCELED line for the RUN step: $(cat "$TMP/err")"
    nothing_left "$what" "$pid"
}

running='^#2 [0-9]+\.[0-9]{3} started$' # the container's process is running
interrupt "SIGINT" INT pid "$running" 130 interrupted
interrupt "SIGTERM" TERM pid "$running" 143 terminated
if command -v setsid >/dev/null; then
    interrupt "SIGINT to the process group" INT group "$running" 130 interrupted
else
    echo "setsid not installed: the process-group case is skipped"
fi
# As the step starts: the signal lands while the snapshot is mounted or
# the runtime is starting the container, wherever that is.
interrupt "SIGINT as RUN starts" INT pid '^#2 \[stage-0 2/2\] RUN ' 130 interrupted

# After success: a process the RUN step left in the background goes too.
printf 'FROM bb:local\nRUN sleep %s & echo spawned\n' "$SECS" >"$TMP/ok.Dockerfile"
"$KILN" build --progress plain -f "$TMP/ok.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
wait_exit "$pid"
st=$?
[ "$st" -eq 0 ] && pass || fail "successful build: exit status $st: $(cat "$TMP/err")"
grep -qE '^#2 [0-9.]+ spawned$' "$TMP/err" && pass || fail "successful build: output: $(cat "$TMP/err")"
nothing_left "successful build" "$pid"

# After a failed step, also with a process left in the background.
printf 'FROM bb:local\nRUN sleep %s & echo about to fail && exit 3\n' "$SECS" >"$TMP/fail.Dockerfile"
"$KILN" build --progress plain -f "$TMP/fail.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
wait_exit "$pid"
st=$?
[ "$st" -eq 1 ] && pass || fail "failed build: exit status $st, want 1: $(cat "$TMP/err")"
expect_grep "did not complete successfully: exit code: 3" "$TMP/err" "failed build: message"
grep -qE '^#2 [0-9.]+ about to fail$' "$TMP/err" && pass || fail "failed build: output: $(cat "$TMP/err")"
nothing_left "failed build" "$pid"

# Parallel stages (--jobs 2): when one stage's step fails, the step running
# side by side in the other stage is cancelled, its container killed, and
# the target that needs both is never started. (The failing step waits 2 s
# so that the other has started by then.)
cat >"$TMP/par.Dockerfile" <<EOF
FROM bb:local AS slow
RUN echo slow started && sleep $SECS

FROM bb:local AS failing
RUN sleep 2; echo failing now; exit 4

FROM bb:local AS both
COPY --from=slow /etc/passwd /a
COPY --from=failing /etc/passwd /b
EOF
"$KILN" build --jobs 2 --progress plain -f "$TMP/par.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
wait_exit "$pid"
st=$?
[ "$st" -eq 1 ] && pass || fail "parallel failure: exit status $st, want 1: $(cat "$TMP/err")"
expect_grep "par.Dockerfile:5: process" "$TMP/err" "parallel failure: the failing step's position"
expect_grep "exit code: 4" "$TMP/err" "parallel failure: the failing step's status"
slow=$(sed -n 's/^#\([0-9]*\) \[slow 2\/2\] RUN .*/\1/p' "$TMP/err")
grep -qE "^#$slow [0-9.]+ slow started$" "$TMP/err" && pass || fail "parallel failure: the slow stage did not run side by side: $(cat "$TMP/err")"
grep -qE "^#$slow CANCELED$" "$TMP/err" && pass || fail "parallel failure: the slow step not CANCELED: $(cat "$TMP/err")"
grep -q '\[both ' "$TMP/err" && fail "parallel failure: the dependent stage started: $(cat "$TMP/err")" || pass
nothing_left "parallel failure" "$pid"

# An interrupt while two stages run side by side stops both.
sed -i 's/sleep 2; echo failing now; exit 4/echo failing started; sleep '"$SECS"'/' "$TMP/par.Dockerfile"
"$KILN" build --jobs 2 --progress plain -f "$TMP/par.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
if wait_for ' slow started$' "$TMP/err" && wait_for ' failing started$' "$TMP/err"; then
    kill -INT "$pid"
    wait_exit "$pid"
    st=$?
    [ "$st" -eq 130 ] && pass || fail "parallel interrupt: exit status $st, want 130: $(cat "$TMP/err")"
    n=$(grep -cE '^#[0-9]+ CANCELED$' "$TMP/err")
    [ "$n" -eq 2 ] && pass || fail "parallel interrupt: $n steps CANCELED, want 2: $(cat "$TMP/err")"
else
    fail "parallel interrupt: the two stages never ran side by side: $(cat "$TMP/err")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
fi
nothing_left "parallel interrupt" "$pid"

# An interrupt while a stage started early waits at its COPY --from for the
# stage it copies from.
cat >"$TMP/wait.Dockerfile" <<EOF
FROM bb:local AS src
RUN echo src started && sleep $SECS
FROM bb:local AS copier
RUN echo copier started
COPY --from=src /etc/passwd /p
EOF
"$KILN" build --jobs 2 --progress plain -f "$TMP/wait.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
if wait_for ' src started$' "$TMP/err" && wait_for ' copier started$' "$TMP/err"; then
    kill -INT "$pid"
    wait_exit "$pid"
    st=$?
    [ "$st" -eq 130 ] && pass || fail "interrupt while waiting at COPY --from: exit status $st, want 130: $(cat "$TMP/err")"
    grep -q '\[copier 3/3\]' "$TMP/err" && fail "the waiting COPY ran: $(cat "$TMP/err")" || pass
else
    fail "interrupt while waiting at COPY --from: the copier never started early: $(cat "$TMP/err")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
fi
nothing_left "interrupt while waiting at COPY --from" "$pid"

# An interrupt during a COPY of many files (the copy stops at the next
# entry) leaves nothing either; should the COPY end first, the RUN after
# it is what the interrupt stops.
python3 - "$C/many" <<'PY'
import os, sys
for d in range(100):
    os.makedirs(f"{sys.argv[1]}/d{d}")
    for f in range(200):
        open(f"{sys.argv[1]}/d{d}/f{f}", "w").write("x" * 100)
PY
printf 'FROM bb:local\nCOPY many /many\nRUN sleep %s\n' "$SECS" >"$TMP/copy.Dockerfile"
"$KILN" build --progress plain -f "$TMP/copy.Dockerfile" "$C" 2>"$TMP/err" &
pid=$!
if wait_for '\[stage-0 2/3\] COPY many' "$TMP/err"; then
    kill -INT "$pid"
    wait_exit "$pid"
    st=$?
    [ "$st" -eq 130 ] && pass || fail "interrupt during COPY: exit status $st, want 130: $(cat "$TMP/err")"
    grep -qE '^#[0-9]+ CANCELED$' "$TMP/err" && pass || fail "interrupt during COPY: no step CANCELED: $(cat "$TMP/err")"
else
    fail "interrupt during COPY: the COPY never started: $(cat "$TMP/err")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
fi
nothing_left "interrupt during COPY" "$pid"
rm -rf "$C/many"
finish
