#!/usr/bin/env bash
# kiln build (issue 6, in progress): real images on overlayfs with a real
# OCI runtime, from a busybox base imported into a fresh store. Checks files
# through later RUN steps, config and history through inspect, failures'
# exit status and messages, and that nothing is left mounted or in tmp/.
. "$(dirname "$0")/lib.sh"
build_setup
mkdir -p "$C/dir/sub"
echo hello >"$C/hello.txt"
echo deep >"$C/dir/sub/f"
echo 'app:x:1000:1000::/home/app:/bin/sh' >"$C/passwd.add"

cat >"$C/Dockerfile" <<'DF'
FROM bb:local AS base
ARG GREETING=hi
ENV A=1 B=two
RUN echo "$GREETING $A $B" > /greet
WORKDIR /app
COPY hello.txt .
COPY dir /app/d/
COPY passwd.add /tmp/
RUN cat /tmp/passwd.add >> /etc/passwd && mkdir -p /home/app && chown 1000 /home/app
USER app
RUN id -u > /home/app/uid && pwd > /home/app/pwd

FROM bb:local AS final
COPY --from=base /greet /greet2
COPY --from=base /home/app/ /copied/
LABEL org.example.v="1.0"
EXPOSE 8080
ENTRYPOINT ["cat"]
CMD ["/greet2"]

FROM final AS other
RUN echo other > /other
DF
expect_status 0 "$KILN" build --target final -t demo:1 --target other -t demo:other "$C"
n=$(grep -c '\[base 1/' "$TMP/err")
[ "$n" -eq 1 ] && pass || fail "stage base ran $n times for two targets, want once"
expect_grep "naming to docker.io/library/demo:1 done" "$TMP/err" "tag first target"
expect_grep "naming to docker.io/library/demo:other done" "$TMP/err" "tag second target"

# files, read back by RUN steps of a later build
cat >"$TMP/check.Dockerfile" <<'DF'
FROM demo:other
RUN cat /greet2 /copied/uid /copied/pwd /other
DF
expect_status 0 "$KILN" build -f "$TMP/check.Dockerfile" "$C"
for want in "hi 1 two" " 1000" " /app" " other"; do expect_grep "$want" "$TMP/err" "file content $want"; done

# config and history (SEMANTICS C-5, C-6, C-13, C-15)
expect_status 0 "$KILN" inspect demo:1
if python3 - "$TMP/out" <<'PY'; then pass; else fail "config: $(head -c 1500 "$TMP/out")"; fi
import json, sys
i = json.load(open(sys.argv[1]))[0]
c = i["Config"]
assert c["Entrypoint"] == ["cat"] and c["Cmd"] == ["/greet2"], c
assert c["Labels"] == {"org.example.v": "1.0"}, c
assert "8080/tcp" in c["ExposedPorts"], c
assert any(e.startswith("PATH=") for e in c["Env"]), c
assert len(i["RootFS"]["Layers"]) == 3, i["RootFS"]
PY
expect_status 0 "$KILN" save -o "$TMP/base.tar" demo:1
# the base stage's history, through a tagged build of it
expect_status 0 "$KILN" build --target base -t demo:base "$C"
expect_status 0 "$KILN" inspect demo:base
if python3 - "$TMP/out" <<'PY'; then pass; else fail "base config: $(head -c 1500 "$TMP/out")"; fi
import json, sys
i = json.load(open(sys.argv[1]))[0]
c = i["Config"]
assert c["User"] == "app" and c["WorkingDir"] == "/app", c
assert "A=1" in c["Env"] and "B=two" in c["Env"], c
assert not any(e.startswith("GREETING") for e in c["Env"]), "ARG leaked into Env (A-5)"
PY

# --network none: only loopback
printf 'FROM bb:local\nRUN cat /proc/net/dev\n' >"$TMP/net.Dockerfile"
expect_status 0 "$KILN" build --network none -f "$TMP/net.Dockerfile" "$C"
if grep -E '^#[0-9]+ [0-9.]+ +(eth|en|wl)' "$TMP/err"; then fail "network none shows host interfaces"; else pass; fi
expect_grep " lo:" "$TMP/err" "loopback present"

# -q prints only the image ID
expect_status 0 "$KILN" build -q -f "$TMP/net.Dockerfile" "$C"
if grep -qxE 'sha256:[0-9a-f]{64}' "$TMP/out" && [ "$(wc -l <"$TMP/out")" -eq 1 ]; then pass; else fail "-q printed: $(cat "$TMP/out")"; fi

# ADD of a local archive extracts it (F-22); another file is copied
mkdir -p "$TMP/arch/pkg" && echo packed >"$TMP/arch/pkg/file" && ln -s file "$TMP/arch/pkg/link"
tar -C "$TMP/arch" --owner=7 --group=8 -czf "$C/pkg.tgz" pkg
printf 'FROM bb:local\nADD pkg.tgz /opt/\nADD hello.txt /opt/h\nRUN cat /opt/pkg/file /opt/pkg/link /opt/h && stat -c %%u:%%g /opt/pkg/file && test ! -e /opt/pkg.tgz\n' >"$TMP/add.Dockerfile"
expect_status 0 "$KILN" build -f "$TMP/add.Dockerfile" "$C"
expect_grep " packed" "$TMP/err" "ADD extracted the tar"
expect_grep " 7:8" "$TMP/err" "ADD keeps the archive's owners"
expect_grep " hello" "$TMP/err" "ADD copies a plain file"

# ONBUILD: recorded in the image, run when a later build uses it (G-24)
printf 'FROM bb:local\nONBUILD RUN echo triggered > /trig\nONBUILD COPY hello.txt /h\n' >"$TMP/ob.Dockerfile"
expect_status 0 "$KILN" build -t onbuild:base -f "$TMP/ob.Dockerfile" "$C"
expect_status 0 "$KILN" inspect onbuild:base
expect_grep '"RUN echo triggered > /trig"' "$TMP/out" "OnBuild recorded"
printf 'FROM onbuild:base\nRUN cat /trig /h\n' >"$TMP/ob2.Dockerfile"
expect_status 0 "$KILN" build -t onbuild:child -f "$TMP/ob2.Dockerfile" "$C"
expect_grep "ONBUILD RUN echo triggered > /trig" "$TMP/err" "trigger runs as a step"
expect_grep " triggered" "$TMP/err" "trigger's file is there"
expect_status 0 "$KILN" inspect onbuild:child
if grep -q OnBuild "$TMP/out"; then fail "child image carries the triggers on"; else pass; fi
# ... and when a stage of the same Dockerfile is the base: its triggers run
# first in the stage built on it, their --from naming this file's stages,
# for one generation only (G-24, G-25)
cat >"$TMP/ob3.Dockerfile" <<'DF'
FROM bb:local AS src
RUN echo from-src > /s
FROM bb:local AS parent
ONBUILD RUN echo triggered-here > /x
ONBUILD COPY --from=src /s /s
FROM parent AS child
RUN cat /x /s
FROM child
RUN echo more >> /x && cat /x
DF
expect_status 0 "$KILN" build --progress plain -f "$TMP/ob3.Dockerfile" "$C"
expect_grep "[child 1/2] ONBUILD COPY --from=src /s /s" "$TMP/err" "a base stage's trigger runs as a step"
grep -qE '^#[0-9]+ [0-9.]+ from-src$' "$TMP/err" && pass || fail "base stage trigger COPY --from: $(cat "$TMP/err")"
n=$(grep -cE '^#[0-9]+ [0-9.]+ triggered-here$' "$TMP/err")
[ "$n" -eq 2 ] && pass || fail "base stage trigger: its line printed $n times, want 2 (child and grandchild cat /x): $(cat "$TMP/err")"
n=$(grep -c 'ONBUILD RUN echo triggered-here' "$TMP/err")
[ "$n" -eq 2 ] && pass || fail "base stage triggers ran $n times, want 2 (parent's own step, child's trigger): $(cat "$TMP/err")"

# heredocs: RUN runs the body (I-26); COPY writes files, expanded unless quoted (F-14, X-18)
cat >"$TMP/hd.Dockerfile" <<'DF'
FROM bb:local
ENV WHO=world
COPY <<EOF /greeting
hello ${WHO}
EOF
COPY <<'RAW' /etc/
raw ${WHO}
RAW
RUN <<SCRIPT
cat /greeting /etc/RAW
echo from-heredoc-run
SCRIPT
DF
expect_status 0 "$KILN" build -f "$TMP/hd.Dockerfile" "$C"
expect_grep " hello world" "$TMP/err" "COPY heredoc expanded"
expect_grep ' raw ${WHO}' "$TMP/err" "quoted COPY heredoc kept"
expect_grep " from-heredoc-run" "$TMP/err" "RUN heredoc ran"

# a step that changes nothing still gets a layer, the empty tar, as BuildKit's (C-11)
printf 'FROM bb:local\nRUN true\nENV X=1\n' >"$TMP/empty.Dockerfile"
expect_status 0 "$KILN" build -t emptystep -f "$TMP/empty.Dockerfile" "$C"
expect_status 0 "$KILN" inspect emptystep
if python3 - "$TMP/out" <<'PY'; then pass; else fail "empty RUN layer: $(head -c 800 "$TMP/out")"; fi
import json, sys
i = json.load(open(sys.argv[1]))[0]
layers = i["RootFS"]["Layers"]
assert len(layers) == 2, layers
assert layers[1] == "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", layers
PY

# .dockerignore (F-8, F-27): ignored paths do not exist for COPY; ! re-includes
mkdir -p "$TMP/ig/logs" "$TMP/ig/src"
echo a >"$TMP/ig/src/a.c" && echo s >"$TMP/ig/secret.key" && echo l >"$TMP/ig/logs/x.log" && echo k >"$TMP/ig/logs/keep.log"
printf 'secret.key\nlogs\n!logs/keep.log\n' >"$TMP/ig/.dockerignore"
printf 'FROM bb:local\nCOPY . /ctx/\nRUN find /ctx -type f | sort\n' >"$TMP/ig/Dockerfile"
expect_status 0 "$KILN" build "$TMP/ig"
expect_grep " /ctx/src/a.c" "$TMP/err" "kept file copied"
expect_grep " /ctx/logs/keep.log" "$TMP/err" "re-included file copied"
if grep -qE "/ctx/secret.key|/ctx/logs/x.log" "$TMP/err"; then fail "ignored files were copied"; else pass; fi
printf 'FROM bb:local\nCOPY secret.key /\n' >"$TMP/ig/Dockerfile"
expect_status 1 "$KILN" build "$TMP/ig"
expect_grep '"/secret.key": not found' "$TMP/err" "an ignored source does not exist"

# --output: docker and OCI archives, an OCI layout, the files, an extra name
printf 'FROM bb:local\nRUN echo exported > /e\n' >"$TMP/o.Dockerfile"
expect_status 0 "$KILN" build -f "$TMP/o.Dockerfile" -t exp:1 -o type=docker,dest="$TMP/o-docker.tar" \
    -o type=oci,dest="$TMP/o-oci.tar" -o type=oci-layout,dest="$TMP/o-layout" \
    -o type=local,dest="$TMP/o-local" -o type=image,name=exp:2 "$C"
expect_status 0 tar -xOf "$TMP/o-docker.tar" manifest.json
expect_grep '"RepoTags":["exp:1"]' "$TMP/out" "docker archive names the image"
expect_status 0 "$KILN" --store "$TMP/o-store" load -i "$TMP/o-oci.tar"
expect_grep "Loaded image: exp:1" "$TMP/out" "oci archive loads"
[ -f "$TMP/o-layout/oci-layout" ] && [ -f "$TMP/o-layout/index.json" ] && pass || fail "no OCI layout written"
[ "$(cat "$TMP/o-local/e" 2>/dev/null)" = exported ] && [ -x "$TMP/o-local/bin/busybox" ] && pass || fail "local export lacks files"
expect_status 0 "$KILN" inspect exp:2
expect_status 2 "$KILN" build -o type=nope,dest=x -f "$TMP/o.Dockerfile" "$C"

# SOURCE_DATE_EPOCH (C-19): times fixed, so two builds give the same image
printf 'FROM bb:local\nRUN echo same > /f && mkdir -p /d\nCOPY hello.txt /d/\n' >"$TMP/sde.Dockerfile"
expect_status 0 "$KILN" build -q --build-arg SOURCE_DATE_EPOCH=1700000000 -f "$TMP/sde.Dockerfile" "$C"
id1=$(cat "$TMP/out")
expect_status 0 "$KILN" build -q --build-arg SOURCE_DATE_EPOCH=1700000000 -f "$TMP/sde.Dockerfile" "$C"
[ "$id1" = "$(cat "$TMP/out")" ] && pass || fail "SOURCE_DATE_EPOCH builds differ: $id1 vs $(cat "$TMP/out")"
expect_status 0 "$KILN" inspect "$id1"
expect_grep '"Created": "2023-11-14T22:13:20Z"' "$TMP/out" "created from SOURCE_DATE_EPOCH"

# A-12: proxy build args reach RUN in both cases (the lowercase value wins)
# without an ARG, and never the config or history; A-14: the sandbox hostname.
printf 'FROM bb:local\nRUN env | grep -i _proxy= | sort; hostname\n' >"$TMP/proxy.Dockerfile"
expect_status 0 "$KILN" build --progress plain -t proxy:1 -f "$TMP/proxy.Dockerfile" \
    --build-arg HTTP_PROXY=http://upper --build-arg http_proxy=http://lower \
    --build-arg NO_PROXY=localhost --build-arg BUILDKIT_SANDBOX_HOSTNAME=sandbox1 "$C"
for want in " HTTP_PROXY=http://lower" " http_proxy=http://lower" " NO_PROXY=localhost" \
    " no_proxy=localhost" " sandbox1"; do
    expect_grep "$want" "$TMP/err" "RUN env/hostname: $want"
done
expect_status 0 "$KILN" inspect proxy:1
grep -qE "http://(lower|upper)|sandbox1" "$TMP/out" && fail "proxy args in the config or history: $(cat "$TMP/out")" || pass

# failures: exit status, message, store intact, nothing left behind
"$KILN" images --no-trunc --format json | sed 's/"CreatedSince":"[^"]*",//' >"$TMP/before"
printf 'FROM bb:local\nRUN echo about to fail && exit 3\n' >"$TMP/f1.Dockerfile"
expect_status 1 "$KILN" build -f "$TMP/f1.Dockerfile" "$C"
expect_grep 'f1.Dockerfile:2: process "/bin/sh -c echo about to fail && exit 3" did not complete successfully: exit code: 3' "$TMP/err" "RUN failure message"
expect_grep "about to fail" "$TMP/err" "failing step output shown"
printf 'FROM bb:local\nCOPY nope /x\n' >"$TMP/f2.Dockerfile"
expect_status 1 "$KILN" build -f "$TMP/f2.Dockerfile" "$C"
expect_grep '"/nope": not found' "$TMP/err" "missing COPY source"
printf 'FROM nosuch:image\nRUN true\n' >"$TMP/f3.Dockerfile"
expect_status 1 "$KILN" build -f "$TMP/f3.Dockerfile" "$C"
expect_grep "base image docker.io/library/nosuch:image is not in the store" "$TMP/err" "missing base"
printf 'FROM bb:local\nRUNN true\n' >"$TMP/f4.Dockerfile"
expect_status 2 "$KILN" build -f "$TMP/f4.Dockerfile" "$C"
expect_grep "f4.Dockerfile:2: unknown instruction: RUNN" "$TMP/err" "bad Dockerfile"
expect_status 0 "$KILN" store check
if grep -q " $KILN_STORE" /proc/self/mountinfo; then fail "mounts left under the store"; else pass; fi
left=$(ls "$KILN_STORE/tmp" | wc -l)
[ "$left" -eq 0 ] && pass || fail "tmp/ holds $left entries after the builds"
"$KILN" images --no-trunc --format json | sed 's/"CreatedSince":"[^"]*",//' >"$TMP/after"
cmp -s "$TMP/before" "$TMP/after" && pass || fail "failed builds changed the images: $(diff "$TMP/before" "$TMP/after" | head -5)"
finish
