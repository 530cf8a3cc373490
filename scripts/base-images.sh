#!/usr/bin/env bash
# Makes the benchmark base images (bench/README.md) in a kiln store:
#   bb:local   busybox-static in an empty root, always;
#   deb:local  debootstrap --variant=minbase --include=gcc,libc6-dev bookworm,
#              with --deb only. The root is made once and cached as a tarball
#              in ${KILN_CACHE:-/var/cache/kiln-test}/deb-local.tar.zst (or
#              .tar.gz without zstd); later runs only import it.
# Images already in the store are left alone. KILN names the kiln binary
# (default: build/kiln, else kiln on PATH). Needs root for deb:local.
#
#   scripts/base-images.sh [--deb] STORE
#
# Exit status: 0 done, 1 failed, 2 bad usage, 3 deb:local cannot be made
# here (not root, no debootstrap and no apt-get, or the mirror is
# unreachable); the reason is on stderr.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deb=0
store=
for a in "$@"; do
    case $a in
    --deb) deb=1 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "base-images.sh: unknown flag $a" >&2; exit 2 ;;
    *) store=$a ;;
    esac
done
[ -n "$store" ] || { echo "usage: base-images.sh [--deb] STORE" >&2; exit 2; }
kiln=${KILN:-}
if [ -z "$kiln" ]; then
    if [ -x "$top/build/kiln" ]; then kiln=$top/build/kiln; else kiln=$(command -v kiln) || {
        echo "base-images.sh: no kiln binary (set KILN)" >&2; exit 1; }; fi
fi
cache=${KILN_CACHE:-/var/cache/kiln-test}
path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
log() { echo "base-images: $*" >&2; }
have() { "$kiln" --store "$store" inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

# bb:local: busybox-static, its applets as links in /bin, root in
# /etc/passwd and /etc/group, /tmp 1777.
if have bb:local; then
    log "bb:local already in $store"
else
    bb=$(command -v busybox) || { log "busybox-static is not installed (apt-get install busybox-static)"; exit 1; }
    r=$work/bb
    mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/tmp"
    cp "$bb" "$r/bin/busybox"
    "$bb" --install -s "$r/bin" 2>/dev/null
    # --install links to the host's path of busybox; in the root it is /bin/busybox.
    # (python3 when there: 400 ln processes take seconds)
    if command -v python3 >/dev/null; then
        python3 -c 'import os, sys
d = sys.argv[1]
for n in os.listdir(d):
    p = os.path.join(d, n)
    if os.path.islink(p):
        os.unlink(p); os.symlink("/bin/busybox", p)' "$r/bin"
    else
        for l in "$r"/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
    fi
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
    echo 'root:x:0:' >"$r/etc/group"
    chmod 1777 "$r/tmp"
    chmod 0700 "$r/root"
    "$kiln" --store "$store" import --change "$path_env" "$r" bb:local >/dev/null
    log "bb:local imported into $store"
fi
[ "$deb" -eq 1 ] || exit 0

if have deb:local; then
    log "deb:local already in $store"
    exit 0
fi
if command -v zstd >/dev/null; then tarball=$cache/deb-local.tar.zst; else tarball=$cache/deb-local.tar.gz; fi
# another cache format from an earlier run will do as well
for t in "$cache/deb-local.tar.zst" "$cache/deb-local.tar.gz"; do [ -s "$t" ] && tarball=$t && break; done

make_tarball() {
    [ "$(id -u)" -eq 0 ] || { log "deb:local needs root for debootstrap"; return 3; }
    if ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || { log "no debootstrap and no apt-get to install it"; return 3; }
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >"$work/apt.log" 2>&1 ||
            { log "apt-get install debootstrap failed: $(tail -2 "$work/apt.log")"; return 3; }
    fi
    # the mirror this machine's apt uses, else Debian's
    local mirror
    mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
        grep -v security | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}' |
        grep -E '^https?://' | head -1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    local probe=
    if command -v curl >/dev/null; then probe="curl -fsS -m 15 -o /dev/null"
    elif command -v wget >/dev/null; then probe="wget -q -T 15 -O /dev/null"; fi
    if [ -n "$probe" ] && ! $probe "$mirror/dists/bookworm/Release" 2>/dev/null; then
        log "the Debian mirror $mirror is unreachable"
        return 3
    fi
    local root=$work/deb start=$SECONDS
    log "debootstrap --variant=minbase --include=gcc,libc6-dev bookworm from $mirror (a few minutes, once)"
    if ! debootstrap --variant=minbase --include=gcc,libc6-dev bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
        log "debootstrap failed: $(tail -3 "$work/debootstrap.log")"
        # debootstrap can leave its /proc and /sys mounted on failure
        for m in proc sys; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
        # a download that failed half-way: the network, not this machine
        grep -qiE "couldn't download|failed getting release|could not resolve|connection (refused|timed out)" \
            "$work/debootstrap.log" && return 3
        return 1
    fi
    for m in proc sys; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/debootstrap
    mkdir -p "$cache"
    local tmp=$tarball.tmp.$$
    if [ "${tarball%.zst}" != "$tarball" ]; then
        tar --numeric-owner --xattrs -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . | zstd -q -T0 -3 -o "$tmp"
    else
        tar --numeric-owner --xattrs -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -czf "$tmp" .
    fi
    mv "$tmp" "$tarball"
    log "debootstrap + tarball took $((SECONDS - start)) s: $tarball ($(du -h "$tarball" | cut -f1))"
}

if [ ! -s "$tarball" ]; then
    mkdir -p "$cache" 2>/dev/null || { log "cannot create the cache $cache"; exit 3; }
    # one debootstrap at a time (tests may run in parallel); the others wait
    exec 9>"$cache/.deb-local.lock"
    flock 9
    if [ ! -s "$tarball" ]; then
        rc=0
        make_tarball || rc=$?
        [ "$rc" -eq 0 ] || exit "$rc"
    fi
    flock -u 9
fi
"$kiln" --store "$store" import --change "$path_env" "$tarball" deb:local >/dev/null
log "deb:local imported into $store from $tarball"
