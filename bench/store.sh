#!/usr/bin/env bash
# Issue 5 goal: `kiln load` and `kiln save` of a 200 MiB one-layer image
# (gzip) within 1.3x of the floor: tar extracting (creating) the same tree
# plus sha256sum of the archive. Prints medians of RUNS runs (default 5).
# Against "$docker" load/save too when a docker daemon answers.
set -euo pipefail
kiln=$1
runs=${RUNS:-5}
tmp=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A tree of 200 MiB that compresses about as well as a typical image layer:
# 1,600 files of 128 KiB, each part random bytes and part repeated text.
python3 - "$tmp/tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(5)
text = b"".join(b"line %d of some library or binary text\n" % i for i in range(4000))
for d in range(40):
    os.makedirs(os.path.join(root, "usr/lib/pkg%02d" % d))
    for f in range(40):
        body = rnd.randbytes(48 * 1024) + text[: 80 * 1024]
        with open(os.path.join(root, "usr/lib/pkg%02d/file%02d.so" % (d, f)), "wb") as fh:
            fh.write(body)
PY
echo "== store: tree $(du -sh "$tmp/tree" | cut -f1), $(find "$tmp/tree" -type f | wc -l) files"

"$kiln" --store "$tmp/src" import "$tmp/tree" bench:200m >/dev/null
"$kiln" --store "$tmp/src" save -o "$tmp/image.tar" bench:200m
layer=$(tar -xOf "$tmp/image.tar" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][0])')
tar -xOf "$tmp/image.tar" "$layer" >"$tmp/layer.tar.gz"
echo "archive $(du -h "$tmp/image.tar" | cut -f1), gzip layer $(du -h "$tmp/layer.tar.gz" | cut -f1)"

# median SETUP SNIPPET: median seconds of a shell snippet over $runs runs
# (after one warm-up), SETUP run untimed before each (clearing old output).
median() {
    python3 -c '
import statistics, subprocess, sys, time
runs, setup, snippet = int(sys.argv[1]), sys.argv[2], sys.argv[3]
times = []
for i in range(runs + 1):
    subprocess.run(["bash", "-c", setup], check=True)
    subprocess.run(["sync"], check=True)
    t = time.monotonic()
    subprocess.run(["bash", "-c", snippet], check=True)
    if i:
        times.append(time.monotonic() - t)
print("%.3f" % statistics.median(times))
' "$runs" "$1" "$2"
}
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

floor_x=$(median "rm -rf '$tmp/x' && mkdir '$tmp/x'" "tar -xzf '$tmp/layer.tar.gz' -C '$tmp/x'")
floor_h=$(median true "sha256sum '$tmp/image.tar' >/dev/null")
floor_load=$(python3 -c "print('%.3f' % ($floor_x + $floor_h))")
load=$(median "rm -rf '$tmp/dst'" "'$kiln' --store '$tmp/dst' load -i '$tmp/image.tar' >/dev/null")
echo "load:  kiln ${load}s   floor ${floor_load}s (tar -xzf ${floor_x}s + sha256sum ${floor_h}s)   ratio $(ratio "$load" "$floor_load")  (goal <= 1.3)"

floor_c=$(median "rm -f '$tmp/c.tar'" "tar -C '$tmp/tree' -cf '$tmp/c.tar' .")
floor_ch=$(median true "sha256sum '$tmp/c.tar' >/dev/null")
floor_save=$(python3 -c "print('%.3f' % ($floor_c + $floor_ch))")
save=$(median "rm -f '$tmp/s.tar'" "'$kiln' --store '$tmp/src' save -o '$tmp/s.tar' bench:200m")
echo "save:  kiln ${save}s   floor ${floor_save}s (tar -cf ${floor_c}s + sha256sum ${floor_ch}s)   ratio $(ratio "$save" "$floor_save")  (goal <= 1.3)"

# Debian's docker client (/usr/bin/docker) first: it matches Debian's dockerd.
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker || echo docker)
if "$docker" info >/dev/null 2>&1; then
    dload=$(median "$docker rmi -f bench:200m >/dev/null 2>&1 || true" "$docker load -i '$tmp/image.tar' >/dev/null")
    dsave=$(median "rm -f '$tmp/d.tar'" "$docker save -o '$tmp/d.tar' bench:200m")
    echo "docker load ${dload}s (kiln/docker $(ratio "$load" "$dload")), docker save ${dsave}s (kiln/docker $(ratio "$save" "$dsave"))"
    "$docker" rmi -f bench:200m >/dev/null 2>&1 || true
else
    echo "(docker is not running: no docker load/save figures)"
fi
