#!/usr/bin/env python3
"""Writes image archives for kiln's integration tests, good and bad.

    archives.py CASE OUT [OUTSIDE]

CASE names one archive (see CASES below). OUTSIDE is a path that hostile
layers aim at: a test checks afterwards that nothing appeared there.
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(entries):
    """entries: list of (name, kind, arg): kind 'file' (arg: bytes),
    'dir', 'symlink' (arg: target), 'hardlink' (arg: target), 'char'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(arg)
                t.addfile(ti, io.BytesIO(arg))
                continue
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            elif kind == "char":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            t.addfile(ti)
    return buf.getvalue()


def config_for(diff_ids):
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z"} for _ in diff_ids],
    }, sort_keys=True).encode()


def write_tar(out, files):
    with tarfile.open(out, "w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def docker_archive(out, layers, tags=("hostile:latest",), diff_ids=None, config=None,
                   config_name=None, layer_names=None, drop=()):
    """Legacy docker save layout: <id>/layer.tar, <hex>.json, manifest.json."""
    if diff_ids is None:
        diff_ids = [sha(l) for l in layers]
    cfg = config if config is not None else config_for(diff_ids)
    cfg_name = config_name or hashlib.sha256(cfg).hexdigest() + ".json"
    names = layer_names or ["%02d/layer.tar" % i for i in range(len(layers))]
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": list(tags), "Layers": names}]).encode()
    files = [(n, l) for n, l in zip(names, layers)] + [(cfg_name, cfg), ("manifest.json", manifest)]
    write_tar(out, [(n, d) for n, d in files if n not in drop])


def oci_archive(out, layers, name="docker.io/library/hostile:latest", gz=True):
    blobs = {}
    descs = []
    diff_ids = []
    for l in layers:
        diff_ids.append(sha(l))
        body = gzip.compress(l, mtime=0) if gz else l
        blobs[sha(body)] = body
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else ""),
                      "digest": sha(body), "size": len(body)})
    cfg = config_for(diff_ids)
    blobs[sha(cfg)] = cfg
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": sha(cfg), "size": len(cfg)},
                    "layers": descs}).encode()
    blobs[sha(m)] = m
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(m), "size": len(m),
        "annotations": {"io.containerd.image.name": name}}]}).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    files += [("blobs/sha256/" + d[7:], b) for d, b in sorted(blobs.items())]
    write_tar(out, files)


def hostile(out, entries):
    docker_archive(out, [tar_bytes(entries)])


def main():
    case, out = sys.argv[1], sys.argv[2]
    outside = sys.argv[3] if len(sys.argv) > 3 else "/tmp/kiln-outside"
    good = tar_bytes([("etc/", "dir", None), ("etc/hello", "file", b"hello\n")])
    cases = {
        # a small valid image, legacy docker layout and OCI layout
        "good-docker": lambda: docker_archive(out, [good], tags=("good:1",)),
        "good-oci": lambda: oci_archive(out, [good], name="docker.io/library/good:oci"),
        "good-oci-plain": lambda: oci_archive(out, [good], name="docker.io/library/good:plain", gz=False),
        # bad input: each must fail and leave the store as it was
        "truncated": lambda: open(out, "wb").write(make_bytes(lambda p: docker_archive(p, [good]))[:3000]),
        "wrong-config-digest": lambda: docker_archive(out, [good], config_name="0" * 64 + ".json"),
        "wrong-diff-id": lambda: docker_archive(out, [good], diff_ids=["sha256:" + "1" * 64]),
        "missing-blob": lambda: docker_archive(out, [good], drop=("00/layer.tar",)),
        "not-a-tar": lambda: docker_archive(out, [b"this is not a tar archive\n" * 40],
                                            diff_ids=[sha(b"this is not a tar archive\n" * 40)]),
        # a layer whose diff ID the store already has, but whose bytes differ
        "known-diff-bad-blob": lambda: docker_archive(out, [gzip.compress(tar_bytes([("x", "file", b"other")]))],
                                                      diff_ids=[sha(good)], layer_names=["00/layer.tar.gz"]),
        "bad-name": lambda: docker_archive(out, [good], tags=("Bad Name!",)),
        "no-manifest": lambda: write_tar(out, [("hello.txt", b"hi\n")]),
        "empty": lambda: open(out, "wb").close(),
        # hostile layers: nothing may appear outside the layer
        "dotdot": lambda: hostile(out, [("../../../../../../.." + outside, "file", b"x")]),
        "dotdot-inner": lambda: hostile(out, [("a/", "dir", None), ("a/../../escape", "file", b"x")]),
        "symlink-parent": lambda: hostile(out, [("l", "symlink", outside.rsplit("/", 1)[0]),
                                                ("l/" + outside.rsplit("/", 1)[1], "file", b"x")]),
        "symlink-dotdot": lambda: hostile(out, [("l", "symlink", "../../../../../../../../.."),
                                                ("l" + outside, "file", b"x")]),
        "hardlink-outside": lambda: hostile(out, [("h", "hardlink", "../../../../../../../etc/passwd")]),
        "hardlink-abs": lambda: hostile(out, [("h", "hardlink", "/etc/passwd"), ]),
        "symlink-then-dir": lambda: hostile(out, [("d", "symlink", outside.rsplit("/", 1)[0]),
                                                  ("d/", "dir", None),
                                                  ("d/" + outside.rsplit("/", 1)[1], "file", b"x")]),
        "symlink-then-file": lambda: hostile(out, [("f", "symlink", outside), ("f", "file", b"x")]),
        "device": lambda: hostile(out, [("dev/", "dir", None), ("dev/null", "char", None)]),
    }
    if case not in cases:
        sys.exit("unknown case %s; known: %s" % (case, " ".join(sorted(cases))))
    cases[case]()


def make_bytes(write):
    import os
    import tempfile
    fd, path = tempfile.mkstemp()
    os.close(fd)
    try:
        write(path)
        return open(path, "rb").read()
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
