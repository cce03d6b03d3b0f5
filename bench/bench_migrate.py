"""Migration against its anchors: images vs ``skopeo copy``, data vs ``cp`` + ``sha256sum``.

Run: nice -n 10 .venv/bin/python bench/bench_migrate.py [--layer-mib 256] [--data-mib 1024]
[--runs 3] [--only images|data]

Images: one image with one random layer is pushed to registry A. Each run copies it by
digest to a registry B started fresh for that run (so neither tool finds a blob there,
and skopeo's blob-info cache cannot mount one from an earlier run), alternating
``skopeo copy docker://A/x@sha256:... docker://B/x`` with ``migrate_image`` called in
this process (as ``rebuild run`` will) and as a fresh ``python -c`` process (imports
included, as skopeo's start-up is). Both digests on B are checked against the source.

Data: one random blob in a local blob store. Each run copies it into an empty store,
alternating ``cp`` followed by ``sha256sum`` of the copy with ``migrate_blobs`` (which
copies in the kernel, as ``cp`` does, then hashes the copy), the order swapped every
run. The page cache is warm for both, and flushed (``sync``) before every timed run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lineage.rebuild.migrate_data import migrate_blobs
from lineage.rebuild.migrate_images import migrate_image
from lineage.snapshots.blobs import LocalBlobStore, blob_key

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.services import (  # noqa: E402 - the registry and image builders of the tests
    RegistryService,
    build_oci_layout,
    find_binary,
    layout_digest,
)

CHILD = (
    "import sys; from lineage.rebuild.migrate_images import migrate_image; "
    "migrate_image(sys.argv[1], sys.argv[2], insecure=sys.argv[3:])"
)


def skopeo_digest(reference: str) -> str:
    raw = subprocess.run(
        [find_binary("skopeo"), "inspect", "--tls-verify=false", "--raw", f"docker://{reference}"],
        capture_output=True,
        check=True,
    ).stdout
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def timed(action: Callable[[], object]) -> float:
    # Flushed first, so neither tool pays for the write-back of the run before it.
    os.sync()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_images(layer_mib: int, runs: int, tmp: Path) -> dict[str, list[float]]:
    layout = build_oci_layout(tmp / "layout", {"big.bin": os.urandom(layer_mib << 20)})
    digest = layout_digest(layout)
    times: dict[str, list[float]] = {"skopeo copy": [], "migrate_image": [], "python -c": []}
    with RegistryService() as a:
        a.push(layout, "bench/x:v1")
        source = f"{a.address}/bench/x@{digest}"
        for _ in range(runs):
            for tool in times:
                with RegistryService() as b:
                    if tool == "skopeo copy":
                        argv = [
                            find_binary("skopeo"), "--insecure-policy", "copy", "--quiet",
                            "--src-tls-verify=false", "--dest-tls-verify=false",
                            f"docker://{source}", f"docker://{b.address}/bench/x",
                        ]  # fmt: skip
                        elapsed = timed(lambda: subprocess.run(argv, check=True))  # noqa: B023
                    elif tool == "migrate_image":
                        insecure = {a.address, b.address}
                        elapsed = timed(lambda: migrate_image(source, b.address, insecure=insecure))  # noqa: B023
                    else:
                        argv = [sys.executable, "-c", CHILD, source, b.address, a.address]
                        argv.append(b.address)
                        elapsed = timed(lambda: subprocess.run(argv, check=True, cwd=REPO))  # noqa: B023
                    assert skopeo_digest(f"{b.address}/bench/x@{digest}") == digest, tool
                    times[tool].append(elapsed)
                    print(f"  image {tool:14s} {elapsed:7.3f} s  load {os.getloadavg()[0]:.1f}")
    return times


def bench_data(data_mib: int, runs: int, tmp: Path) -> dict[str, list[float]]:
    source = LocalBlobStore(tmp / "a")
    data = os.urandom(data_mib << 20)
    digest = hashlib.sha256(data).hexdigest()
    source.put_bytes(blob_key(digest), data)
    del data
    src_file = tmp / "a" / blob_key(digest)
    times: dict[str, list[float]] = {"cp + sha256sum": [], "migrate_blobs": []}
    for run in range(runs):
        target = tmp / f"b{run}"
        copy = tmp / f"copy{run}"

        def anchor(copy: Path = copy) -> None:
            subprocess.run(["cp", str(src_file), str(copy)], check=True)
            out = subprocess.run(["sha256sum", str(copy)], check=True, capture_output=True)
            assert out.stdout.split()[0].decode() == digest

        def ours(target: Path = target) -> None:
            done = migrate_blobs([digest], source, LocalBlobStore(target))
            assert done.bytes_copied == data_mib << 20

        order = [("cp + sha256sum", anchor), ("migrate_blobs", ours)]
        for name, action in order if run % 2 == 0 else order[::-1]:
            times[name].append(timed(action))
            print(f"  data  {name:14s} {times[name][-1]:7.3f} s  load {os.getloadavg()[0]:.1f}")
        copy.unlink()
        shutil.rmtree(target)
    return times


def report(title: str, times: dict[str, list[float]], anchor: str, mib: int) -> None:
    print(f"\n{title}")
    base = statistics.median(times[anchor])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"  {name:16s} median {median:7.3f} s  {mib / median:7.1f} MiB/s  "
            f"ratio {median / base:5.2f}  runs {', '.join(f'{v:.2f}' for v in values)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer-mib", type=int, default=256)
    parser.add_argument("--data-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("images", "data"))
    args = parser.parse_args()
    print(f"date -u: {time.strftime('%a %b %d %H:%M:%S UTC %Y', time.gmtime())}")
    print(f"load at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-migrate-", dir="/tmp") as tmp:
        if args.only != "data":
            images = bench_images(args.layer_mib, args.runs, Path(tmp))
            report(f"image, one {args.layer_mib} MiB layer", images, "skopeo copy", args.layer_mib)
        if args.only != "images":
            data = bench_data(args.data_mib, args.runs, Path(tmp))
            report(f"data, one {args.data_mib} MiB blob", data, "cp + sha256sum", args.data_mib)
    print(f"load at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
