"""Unpack a cached image's layers into a root filesystem, once per manifest digest.

Debian's ``umoci`` does the unpacking (``umoci raw unpack``), not Python's tarfile. A
layer is a diff against the layers below it: OCI whiteouts (``.wh.<name>`` removes a
name, ``.wh..wh..opq`` empties a directory of what lower layers put there) must be
honoured, and every path must be resolved *inside* the rootfs, where an absolute symlink
left by a lower layer points into the image, not at the host. umoci implements both
(its paths go through a chroot-style secure join) and checks each blob's digest again
as it reads it; tarfile's extraction filters would refuse such symlinks instead.

The rootfs lands in ``<root>/rootfs/<algorithm>-<hex>``: unpacked into a temporary
directory and renamed when umoci succeeded, so a half-unpacked rootfs is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lineage.errors import BadInputError, ConfigError
from lineage.sandbox.cache import CachedImage, ImageCache, tag_of


def umoci_binary() -> str:
    found = shutil.which("umoci")
    if found is None:
        raise ConfigError(
            "umoci is not installed: install Debian's umoci package (apt-get install umoci)"
        )
    return found


def rootfs_of(cache: ImageCache, image: CachedImage) -> Path:
    """The image's unpacked rootfs, unpacking it the first time this digest is asked for."""
    target = cache.root / "rootfs" / tag_of(image.digest)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        argv = [
            umoci_binary(),
            "raw",
            "unpack",
            "--image",
            f"{cache.layout}:{tag_of(image.digest)}",
        ]
        if os.geteuid() != 0:  # owners as this user; bwrap maps them in its user namespace
            argv.append("--rootless")
        result = subprocess.run(
            [*argv, str(work / "rootfs")], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BadInputError(
                f"image {image.reference}: cannot unpack {image.digest} "
                f"(a corrupt layer?): {detail}; nothing runs"
            )
        try:
            (work / "rootfs").rename(target)
        except OSError:
            if not target.is_dir():  # else another process unpacked the same digest first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
