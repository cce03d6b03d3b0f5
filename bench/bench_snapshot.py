"""Snapshot creation of 10,000 small files into a fresh local blob store.

Run: .venv/bin/python bench/bench_snapshot.py [--files 10000]
Anchor: ``cp -a`` of the same tree into the same filesystem, the least work any
snapshot that keeps a copy must do. A second snapshot of the unchanged tree measures
the deduplicated path (hash only, no blob written).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from lineage.snapshots import ops
from lineage.snapshots.blobs import LocalBlobStore


def make_tree(root: Path, files: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    total = 0
    for i in range(files):
        directory = root / f"d{i // 500:03d}"
        directory.mkdir(parents=True, exist_ok=True)
        size = rng.randint(512, 8192)
        (directory / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))
        total += size
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-snap-", dir="/tmp") as tmp:
        src = Path(tmp) / "src"
        total = make_tree(src, args.files)
        start = time.perf_counter()
        subprocess.run(["cp", "-a", str(src), str(Path(tmp) / "copy")], check=True)
        cp_s = time.perf_counter() - start

        blobs = LocalBlobStore(Path(tmp) / "store")
        start = time.perf_counter()
        created = ops.create(src, blobs)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = ops.create(src, blobs)
        second_s = time.perf_counter() - start
        assert again.blobs_written == 0 and again.manifest.root == created.manifest.root
        stored = sum(1 for _ in os.scandir(Path(tmp) / "store" / "blobs" / "sha256"))
    mb = total / 1e6
    print(f"tree              {args.files} files, {mb:.1f} MB")
    print(f"cp -a (anchor)    {cp_s:.2f} s  {args.files / cp_s:.0f} files/s  {mb / cp_s:.1f} MB/s")
    print(
        f"snapshot create   {first_s:.2f} s  {args.files / first_s:.0f} files/s  "
        f"{mb / first_s:.1f} MB/s  ({stored} blobs)"
    )
    print(
        f"snapshot again    {second_s:.2f} s  {args.files / second_s:.0f} files/s  "
        f"{mb / second_s:.1f} MB/s  (deduplicated: 0 blobs written)"
    )
    print(f"ratio create/cp   {first_s / cp_s:.2f}")


if __name__ == "__main__":
    main()
