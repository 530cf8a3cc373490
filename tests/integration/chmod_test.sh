#!/usr/bin/env bash
# COPY/ADD --chmod (SEMANTICS F-18, F-12, C-14) on real builds: symbolic and
# octal modes, read back from a local export of the image and from its
# history, and the errors for bad values.
. "$(dirname "$0")/lib.sh"
build_setup
mkdir -p "$C/dir/sub"
echo a >"$C/dir/plain"
echo b >"$C/dir/tool"
echo c >"$C/dir/sub/f"
echo f >"$C/file"
chmod 0700 "$C/dir" "$C/dir/sub" "$C/dir/tool"
chmod 0600 "$C/dir/plain" "$C/dir/sub/f"
chmod 0644 "$C/file"

cat >"$C/Dockerfile" <<'DF'
FROM bb:local
COPY --chmod=u=rwX,go=rX dir /d
COPY --chmod=+x file /f
ARG MODE=go-r
COPY --chmod=$MODE file /e
COPY --chmod=0640 dir /p/o
ADD --chmod=u=rw,g=u,o= file /a/
COPY --chmod=u+x <<EOF /h
hi
EOF
DF
expect_status 0 "$KILN" build -t chmod:1 -o type=local,dest="$TMP/local" "$C"

# modes as exported: path, then the mode GNU stat prints (%a)
while read -r path want why; do
    got=$(stat -c %a "$TMP/local/$path" 2>&1)
    [ "$got" = "$want" ] && pass || fail "/$path: mode $got, want $want ($why)"
done <<'MODES'
d 755 F-12: the created destination, as a parent
d/plain 644 u=rwX,go=rX on a 0600 file: no X
d/tool 755 u=rwX,go=rX on a 0700 file: X, already executable
d/sub 755 u=rwX,go=rX on a 0700 directory: X
d/sub/f 644 u=rwX,go=rX below
f 755 +x is a+x: no umask
e 600 a variable expanded: go-r
p 640 F-12: an octal mode makes parents too
p/o 640 octal
p/o/plain 640 octal replaces all bits
p/o/sub 640 octal on a directory
a/file 660 ADD, g=u copies the new user bits
h 744 a heredoc file is 0644 before the change
MODES

# history keeps the value as written after expansion (C-14)
expect_status 0 "$KILN" save -o "$TMP/chmod.tar" chmod:1
if python3 - "$TMP/chmod.tar" >"$TMP/hist" 2>&1 <<'PY'; then pass; else fail "history: $(cat "$TMP/hist")"; fi
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
m = json.load(t.extractfile("manifest.json"))[0]
h = [e.get("created_by", "") for e in json.load(t.extractfile(m["Config"]))["history"]]
for want in ["COPY --chmod=u=rwX,go=rX dir /d # buildkit", "COPY --chmod=+x file /f # buildkit",
             "COPY --chmod=go-r file /e # buildkit", "COPY --chmod=0640 dir /p/o # buildkit",
             "ADD --chmod=u=rw,g=u,o= file /a/ # buildkit", "COPY --chmod=u+x <<EOF /h # buildkit"]:
    assert want in h, (want, h)
PY

# an empty value after expansion sets nothing, as in BuildKit (F-18)
printf 'FROM bb:local\nARG NONE\nCOPY --chmod=$NONE file /plain\n' >"$TMP/empty.Dockerfile"
expect_status 0 "$KILN" build -t chmod:2 -f "$TMP/empty.Dockerfile" -o type=local,dest="$TMP/empty" "$C"
got=$(stat -c %a "$TMP/empty/plain" 2>&1)
[ "$got" = 644 ] && pass || fail "/plain: mode $got, want the source's 644"

# bad values: exit 2, BuildKit's messages at the line (F-18, E-1)
while IFS='|' read -r value msg <&3; do
    printf 'FROM bb:local\nCOPY --chmod=%s file /x\n' "$value" >"$TMP/bad.Dockerfile"
    expect_status 2 "$KILN" build -f "$TMP/bad.Dockerfile" "$C"
    expect_grep "bad.Dockerfile:2: invalid chmod parameter: '$value'$msg" "$TMP/err" "--chmod=$value"
done 3<<'BAD'
64a|. it should be octal string and between 0 and 07777
10000|. it should be octal string and between 0 and 07777
u+q|: invalid syntax
u+r,|: invalid syntax
BAD
finish
