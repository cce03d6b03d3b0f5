"""Hashing throughput: lineage.digest.sha256_file against coreutils sha256sum on one file.

Run: .venv/bin/python bench/bench_hash.py [--size-mb 1024] [--runs 3]
The file is written under /tmp (so it sits in the page cache for both tools, which
measures hashing, not the disk) and deleted afterwards. Target: ours <= 1.2x the time
of sha256sum.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from lineage.digest import sha256_file


def write_file(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        for i in range(size_mb):
            # Vary each MiB so no layer can dedupe or compress the input away.
            out.write(i.to_bytes(8, "little") + block[8:])


def timed(fn: object) -> tuple[float, str]:
    start = time.perf_counter()
    result = fn()  # type: ignore[operator]
    return time.perf_counter() - start, str(result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hash-", dir="/tmp") as tmp:
        path = Path(tmp) / "blob.bin"
        write_file(path, args.size_mb)
        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)  # warm cache

        def coreutils() -> str:
            out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
            return out.stdout.split()[0].decode()

        ours_t, theirs_t = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            t, ours = timed(lambda: sha256_file(path))
            ours_t.append(t)
            t, theirs = timed(coreutils)
            theirs_t.append(t)
            assert ours == theirs, (ours, theirs)
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    mb = args.size_mb * (1 << 20) / 1e6
    print(f"file              {args.size_mb} MiB, {args.runs} runs each, median")
    print(f"sha256sum         {theirs_s:.3f} s  {mb / theirs_s:.0f} MB/s")
    print(f"sha256_file       {ours_s:.3f} s  {mb / ours_s:.0f} MB/s")
    print(f"ratio ours/anchor {ours_s / theirs_s:.3f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
