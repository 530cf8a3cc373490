#!/usr/bin/env bash
# kiln build --progress (issue 6, point 7): plain prints BuildKit's lines
# exactly, json one parseable event per line in order, tty a live view with
# finished steps collapsed, quiet nothing but a failing step's output; auto
# is plain off a terminal and tty on one; no mode truncates step output;
# steps run side by side keep their own output, and one canceled by a
# failure beside it ends as BuildKit's CANCELED.
. "$(dirname "$0")/lib.sh"
build_setup

cat >"$C/Dockerfile" <<'DF'
FROM bb:local AS base
ENV X=1
RUN echo one; printf 'two\nthree'
FROM base
RUN echo out; echo more
DF
# a failing step with more output than the tty view's live tail
printf 'FROM bb:local\nRUN for i in $(seq 1 20); do echo "fail line $i"; done; exit 3\n' >"$TMP/fail.Dockerfile"
# one 100000-byte line and a partial last line: never cut
printf 'FROM bb:local\nRUN head -c 100000 /dev/zero | tr "\\\\0" a; echo; printf tail\n' >"$TMP/long.Dockerfile"

# ---- plain: the exact lines, times normalised ----
expect_status 0 "$KILN" build --progress plain -t prog:1 "$C"
sed -E -e 's/^(#[0-9]+) [0-9]+\.[0-9]{3} /\1 T /' -e 's/^(#[0-9]+) DONE [0-9]+\.[0-9]s$/\1 DONE Xs/' \
    -e 's/sha256:[0-9a-f]{64}/sha256:H/' "$TMP/err" >"$TMP/plain"
cat >"$TMP/want" <<'OUT'
#1 [base 1/3] FROM docker.io/library/bb:local
#1 DONE Xs
#2 [base 2/3] ENV X=1
#2 DONE Xs
#3 [base 3/3] RUN echo one; printf 'two\nthree'
#3 T one
#3 T two
#3 T three
#3 DONE Xs
#4 [stage-1 1/2] FROM base
#4 DONE Xs
#5 [stage-1 2/2] RUN echo out; echo more
#5 T out
#5 T more
#5 DONE Xs
writing image sha256:H done
naming to docker.io/library/prog:1 done
OUT
if diff -u "$TMP/want" "$TMP/plain" >"$TMP/diff"; then pass; else fail "plain lines: $(cat "$TMP/diff")"; fi
[ -s "$TMP/out" ] && fail "plain wrote to stdout: $(head -c 300 "$TMP/out")" || pass

# auto off a terminal is plain
expect_status 0 "$KILN" build -t prog:1 "$C" </dev/null
head -1 "$TMP/err" | grep -qx '#1 \[base 1/3\] FROM docker.io/library/bb:local' && pass ||
    fail "auto off a terminal: $(head -3 "$TMP/err")"

# a failing step: its output, the ERROR line, the message
expect_status 1 "$KILN" build --progress plain -f "$TMP/fail.Dockerfile" "$C"
n=$(grep -cE '^#2 [0-9.]+ fail line [0-9]+$' "$TMP/err")
[ "$n" -eq 20 ] && pass || fail "plain failing output: $n of 20 lines"
grep -qE '^#2 ERROR: process "/bin/sh -c .*" did not complete successfully: exit code: 3$' "$TMP/err" &&
    pass || fail "plain ERROR line: $(tail -3 "$TMP/err")"

# nothing cut
expect_status 0 "$KILN" build --progress plain -f "$TMP/long.Dockerfile" "$C"
n=$(grep -E '^#2 [0-9.]+ a+$' "$TMP/err" | sed -E 's/^#2 [0-9.]+ //' | tr -d '\n' | wc -c)
[ "$n" -eq 100000 ] && pass || fail "plain long line: $n of 100000 bytes"
grep -qE '^#2 [0-9.]+ tail$' "$TMP/err" && grep -A1 -E '^#2 [0-9.]+ tail$' "$TMP/err" | grep -qE '^#2 DONE ' &&
    pass || fail "plain partial last line not flushed before DONE: $(tail -3 "$TMP/err")"

# ---- json: every line an event, in order ----
# check_json FILE WANT_STATUS: FILE holds only JSON events, each step's
# start before its output before its one done/error/canceled (steps may
# interleave), every step ended, a failed build with an error.
check_json() {
    python3 - "$@" <<'PY'
import json, sys
path, want = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().splitlines()
assert lines, "no events"
events = []
for n, line in enumerate(lines, 1):
    if line.startswith("kiln: "):  # the closing error report is not an event
        assert want == "failed" and n == len(lines), f"line {n}: {line}"
        continue
    events.append(json.loads(line))
state, output, ends = {}, {}, {}
for e in events:
    kind = e["event"]
    if kind in ("image", "warning"):
        continue
    step = e["step"]
    if kind == "start":
        assert step not in state, e
        assert isinstance(e["stage"], str) and isinstance(e["text"], str), e
        assert 1 <= e["index"] <= e["count"], e
        state[step], output[step] = "running", ""
    else:
        assert state.get(step) == "running", e
        if kind == "output":
            output[step] += e["data"]
        elif kind in ("done", "error", "canceled"):
            assert e["seconds"] >= 0, e
            if kind == "error":
                assert e["message"], e
            state[step] = "ended"
            ends[step] = kind
        else:
            raise AssertionError(f"unknown event {e}")
assert all(v == "ended" for v in state.values()), "a step never ended"
kinds = set(ends.values())
assert (kinds == {"done"}) if want == "ok" else ("error" in kinds), ends
json.dump({"steps": len(state), "output": output, "ends": ends, "events": events},
          open(path + ".py", "w"))
PY
}
expect_status 0 "$KILN" build --progress json -t prog:1 "$C"
if check_json "$TMP/err" ok 2>"$TMP/py"; then pass; else fail "json events: $(cat "$TMP/py") in $(head -c 1500 "$TMP/err")"; fi
python3 - "$TMP/err.py" <<'PY' && pass || fail "json content: $(head -c 1500 "$TMP/err")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["steps"] == 5, r["steps"]
assert r["output"]["3"] == "one\ntwo\nthree", r["output"]
assert r["output"]["5"] == "out\nmore\n", r["output"]
start = [e for e in r["events"] if e["event"] == "start"][2]
assert start == {"step": 3, "event": "start", "stage": "base", "index": 3, "count": 3,
                 "text": "RUN echo one; printf 'two\\nthree'"}, start
image = r["events"][-1]
assert image["event"] == "image" and image["names"] == ["docker.io/library/prog:1"], image
assert image["id"].startswith("sha256:") and len(image["id"]) == 71, image
PY
expect_status 1 "$KILN" build --progress json -f "$TMP/fail.Dockerfile" "$C"
if check_json "$TMP/err" failed 2>"$TMP/py"; then pass; else fail "json failing build: $(cat "$TMP/py")"; fi
python3 - "$TMP/err.py" <<'PY' && pass || fail "json failing output: $(head -c 1500 "$TMP/err")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["output"]["2"] == "".join(f"fail line {i}\n" for i in range(1, 21)), r["output"]
assert "exit code: 3" in r["events"][-1]["message"], r["events"][-1]
PY
expect_status 0 "$KILN" build --progress json -f "$TMP/long.Dockerfile" "$C"
if check_json "$TMP/err" ok 2>"$TMP/py"; then pass; else fail "json long output: $(cat "$TMP/py")"; fi
python3 - "$TMP/err.py" <<'PY' && pass || fail "json long output cut"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["output"]["2"] == "a" * 100000 + "\ntail", len(r["output"]["2"])
PY

# ---- a step canceled beside a failing one (--jobs 2) ----
# The failing step waits until the slow one listens on a port (RUN shares
# the host's network), so the slow step is running when the other fails.
PORT=$((20000 + $$ % 20000))
slow_run="echo slow started; nc -l -p $PORT </dev/null >/dev/null; sleep 30"
failing_run='for i in $(seq 3000); do nc 127.0.0.1 '$PORT' </dev/null 2>/dev/null && break; usleep 10000; done; echo failing now; exit 4'
printf 'FROM bb:local AS %s\nRUN %s\n' slow "$slow_run" failing "$failing_run" >"$TMP/par.Dockerfile"
printf 'FROM bb:local\nCOPY --from=slow /etc/passwd /a\nCOPY --from=failing /etc/passwd /b\n' >>"$TMP/par.Dockerfile"
expect_status 1 "$KILN" build --jobs 2 --progress plain -f "$TMP/par.Dockerfile" "$C"
# step_lines STAGE: the lines of that stage's RUN step, its number and times normalised
step_lines() {
    local n
    n=$(sed -nE "s/^#([0-9]+) \[$1 2\/2\] RUN .*/\1/p" "$TMP/err")
    [ -n "$n" ] && grep "^#$n " "$TMP/err" | sed -E -e "s/^#$n /#N /" -e 's/^#N [0-9]+\.[0-9]{3} /#N T /'
}
printf '%s\n' "#N [slow 2/2] RUN $slow_run" '#N T slow started' '#N CANCELED' >"$TMP/want"
if step_lines slow | diff -u "$TMP/want" - >"$TMP/diff"; then pass; else fail "plain canceled step: $(cat "$TMP/diff")"; fi
printf '%s\n' "#N [failing 2/2] RUN $failing_run" '#N T failing now' \
    "#N ERROR: process \"/bin/sh -c $failing_run\" did not complete successfully: exit code: 4" >"$TMP/want"
if step_lines failing | diff -u "$TMP/want" - >"$TMP/diff"; then pass; else fail "plain failing step beside it: $(cat "$TMP/diff")"; fi

expect_status 1 "$KILN" build --jobs 2 --progress json -f "$TMP/par.Dockerfile" "$C"
if check_json "$TMP/err" failed 2>"$TMP/py"; then pass; else fail "json canceled step: $(cat "$TMP/py")"; fi
python3 - "$TMP/err.py" <<'PY' && pass || fail "json canceled step: $(head -c 1500 "$TMP/err")"
import json, sys
r = json.load(open(sys.argv[1]))
step = {e["stage"]: str(e["step"]) for e in r["events"] if e["event"] == "start" and e["index"] == 2}
assert set(step) == {"slow", "failing"}, step
assert r["ends"][step["slow"]] == "canceled" and r["ends"][step["failing"]] == "error", r["ends"]
assert r["output"][step["slow"]] == "slow started\n", r["output"]
assert r["output"][step["failing"]] == "failing now\n", r["output"]
canceled = [e for e in r["events"] if e["event"] == "canceled"]
assert len(canceled) == 1 and set(canceled[0]) == {"step", "event", "seconds"}, canceled
PY

expect_status 1 "$KILN" build --jobs 2 --progress quiet -f "$TMP/par.Dockerfile" "$C"
expect_grep '[failing 2/2] RUN ' "$TMP/err" "quiet: the failing step beside a canceled one"
grep -qx 'failing now' "$TMP/err" && ! grep -q 'slow' "$TMP/err" && pass ||
    fail "quiet showed more than the failing step: $(cat "$TMP/err")"

# ---- quiet and -q ----
expect_status 0 "$KILN" build --progress quiet -t prog:1 "$C"
[ -s "$TMP/err" ] && fail "quiet success wrote: $(head -c 300 "$TMP/err")" || pass
expect_status 0 "$KILN" build -q -t prog:1 "$C"
if grep -qxE 'sha256:[0-9a-f]{64}' "$TMP/out" && [ "$(wc -l <"$TMP/out")" -eq 1 ] && [ ! -s "$TMP/err" ]; then
    pass
else
    fail "-q: stdout $(cat "$TMP/out"), stderr $(head -c 300 "$TMP/err")"
fi
expect_status 1 "$KILN" build --progress quiet -f "$TMP/fail.Dockerfile" "$C"
n=$(grep -cxE 'fail line [0-9]+' "$TMP/err")
[ "$n" -eq 20 ] && pass || fail "quiet failing output: $n of 20 lines: $(cat "$TMP/err")"
expect_grep '[stage-0 2/2] RUN for i in' "$TMP/err" "quiet failing step named"
grep -q 'fail line 20' "$TMP/err" && ! grep -q '^#1 ' "$TMP/err" && pass || fail "quiet showed more than the failing step"

# ---- bad mode ----
expect_status 2 "$KILN" build --progress fancy "$C"
expect_grep "unknown progress mode fancy" "$TMP/err" "bad progress mode"

# ---- tty, on a pseudo-terminal from util-linux script ----
if ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
    echo "script (util-linux) not usable: tty cases skipped"
    finish
    exit
fi
# on_tty CMD: run CMD on a pseudo-terminal; its raw output in $TMP/tty.raw,
# and in $TMP/tty the screen it leaves (a small terminal: CR, LF, cursor
# up, erase below), the step times replaced by Xs.
on_tty() {
    script -qec "$*" /dev/null </dev/null >"$TMP/tty.raw" 2>&1
    local st=$?
    python3 - "$TMP/tty.raw" >"$TMP/tty" <<'PY'
import re, sys
data = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read()
lines, row, col = [""], 0, 0
for tok in re.findall(r"\x1b\[(\d*)([A-Za-z])|(\r)|(\n)|([^\x1b\r\n]+)", data):
    n, cmd, cr, lf, text = tok
    if cmd == "A":
        row = max(0, row - int(n or 1))
    elif cmd == "J":
        lines[row] = lines[row][:col]
        del lines[row + 1:]
    elif cmd:
        raise SystemExit(f"unexpected escape {cmd}")
    elif cr:
        col = 0
    elif lf:
        row, col = row + 1, 0
        if row == len(lines):
            lines.append("")
    else:
        line = lines[row]
        lines[row] = line[:col] + text + line[col + len(text):]
        col += len(text)
for line in lines[:-1] if lines[-1] == "" else lines:
    print(re.sub(r" +[0-9]+\.[0-9]s$", " Xs", line))
PY
    return $st
}
expect_status 0 on_tty "$KILN" build --progress tty -t prog:1 "$C"
grep -q $'\033\\[' "$TMP/tty.raw" && pass || fail "tty: no escape sequences: $(head -c 300 "$TMP/tty.raw")"
sed -i -E 's/sha256:[0-9a-f]{64}/sha256:H/' "$TMP/tty"
cat >"$TMP/want" <<'OUT'
=> [base 1/3] FROM docker.io/library/bb:local Xs
=> [base 2/3] ENV X=1 Xs
=> [base 3/3] RUN echo one; printf 'two\nthree' Xs
=> [stage-1 1/2] FROM base Xs
=> [stage-1 2/2] RUN echo out; echo more Xs
writing image sha256:H done
naming to docker.io/library/prog:1 done
OUT
if diff -u "$TMP/want" "$TMP/tty" >"$TMP/diff"; then pass; else fail "tty screen: $(cat "$TMP/diff")"; fi
# auto on a terminal is tty
expect_status 0 on_tty "$KILN" build -t prog:1 "$C"
grep -q $'\033\\[' "$TMP/tty.raw" && pass || fail "auto on a terminal: no live view: $(head -c 300 "$TMP/tty.raw")"
# a silent step's timer moves in the live view
printf 'FROM bb:local\nRUN sleep 1\n' >"$TMP/silent.Dockerfile"
expect_status 0 on_tty "$KILN" build --progress tty -f "$TMP/silent.Dockerfile" "$C"
n=$(grep -aoE '=> \[stage-0 2/2\] RUN sleep 1 +[0-9]+\.[0-9]s' "$TMP/tty.raw" | sed -E 's/.* //' | sort -u | wc -l)
[ "$n" -ge 3 ] && pass || fail "tty: a silent step's timer drawn with $n values, want 3 or more: $(cat -v "$TMP/tty.raw")"
# a failing step: all of its output, framed, beyond the live tail
expect_status 1 on_tty "$KILN" build --progress tty -f "$TMP/fail.Dockerfile" "$C"
{
    echo '=> [stage-0 1/2] FROM docker.io/library/bb:local Xs'
    echo '=> ERROR [stage-0 2/2] RUN for i in $(seq 1 20); do echo "fail line $i"; done; exit 3 Xs'
    echo '------'
    echo ' > [stage-0 2/2] RUN for i in $(seq 1 20); do echo "fail line $i"; done; exit 3:'
    for i in $(seq 1 20); do echo "fail line $i"; done
    echo '------'
} >"$TMP/want"
if head -n 25 "$TMP/tty" | diff -u "$TMP/want" - >"$TMP/diff"; then pass; else fail "tty failing step: $(cat "$TMP/diff")"; fi
expect_grep "#2 ERROR: process" "$TMP/tty" "tty: the error"
# a step canceled beside a failing one: collapsed to its CANCELED line,
# nothing of its live view left on screen
expect_status 1 on_tty "$KILN" build --jobs 2 --progress tty -f "$TMP/par.Dockerfile" "$C"
n=$(grep -c '\[slow 2/2\]' "$TMP/tty")
grep -qxF "=> CANCELED [slow 2/2] RUN $slow_run Xs" "$TMP/tty" && [ "$n" -eq 1 ] &&
    ! grep -q '^   ' "$TMP/tty" && pass || fail "tty canceled step: $(cat "$TMP/tty")"
grep -q '^=> ERROR \[failing 2/2\] RUN ' "$TMP/tty" && grep -qx 'failing now' "$TMP/tty" && pass ||
    fail "tty failing step beside a canceled one: $(cat "$TMP/tty")"
finish
