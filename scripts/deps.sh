#!/usr/bin/env bash
# Install the Debian packages kiln's build and tests need, only those missing.
set -euo pipefail

pkgs=(
    cmake make gcc clang pkg-config
    libclang-rt-14-dev          # libFuzzer and sanitizer runtimes for clang
    libjansson-dev libssl-dev libcmocka-dev
    libarchive-dev libsqlite3-dev libzstd-dev libisal-dev zlib1g-dev
    busybox-static              # tests import a busybox root as their base image
    skopeo umoci                # interop tests read and write kiln's store and archives
    crun runc                   # OCI runtimes for RUN (crun refuses hybrid cgroup hosts)
    python3                     # integration tests read JSON output with it
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
