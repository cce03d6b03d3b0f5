"""One task in bubblewrap: the image's rootfs read-only, its inputs only, no network.

The sandbox's ``/`` is bubblewrap's own tmpfs, onto which every top-level entry of the
image's rootfs is bound read-only; ``/`` itself is remounted read-only once the mounts
are in place. Binding entry by entry, rather than the rootfs as a whole, lets a host
path such as ``/work/run/train/model`` (an input or the output directory) appear at the
same path inside the sandbox without writing a single directory into the cached rootfs:
a directory of the image on the way to such a path is recreated on the tmpfs and its
other entries are bound one by one. The paths stay the same inside and out because the
executor input kfp.local built names them, and kfp.local reads the outputs back there.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lineage.errors import ConfigError

# The sandbox's own: never taken from the image, whatever it holds there.
_PRIVATE = frozenset({"proc", "dev", "tmp"})
FIXED_ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "LC_ALL": "C.UTF-8", "HOME": "/tmp"}


def bwrap_binary() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise ConfigError(
            "bwrap is not installed: install Debian's bubblewrap package "
            "(apt-get install bubblewrap)"
        )
    return found


@cache
def bwrap_version() -> str:
    """``0.8.0`` for ``bubblewrap 0.8.0``."""
    out = subprocess.run([bwrap_binary(), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().rpartition(" ")[2] or "unknown"


@dataclass(frozen=True, slots=True)
class Sandbox:
    """What one sandboxed process sees."""

    rootfs: Path
    inputs: tuple[Path, ...] = ()  # bound read-only at the same path
    outputs: tuple[Path, ...] = ()  # bound writable at the same path
    image_env: tuple[str, ...] = ()  # the image config's Env (NAME=value)
    working_dir: str = "/"
    source_date_epoch: int = 0
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """The image's Env, then the fixed variables (which win: they are the point)."""
        env = dict(e.split("=", 1) for e in self.image_env if "=" in e)
        env.update(self.extra_env)
        env.update(FIXED_ENV)
        env["SOURCE_DATE_EPOCH"] = str(self.source_date_epoch)
        return env

    def argv(self, command: Sequence[str]) -> list[str]:
        args = [bwrap_binary(), "--unshare-all", "--die-with-parent", "--new-session"]
        args += ["--clearenv"]
        for name, value in sorted(self.environment().items()):
            args += ["--setenv", name, value]
        args += _image_binds(self.rootfs, [*self.inputs, *self.outputs])
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in self.inputs:
            args += ["--ro-bind", str(path), str(path)]
        for path in self.outputs:
            args += ["--bind", str(path), str(path)]
        args += ["--remount-ro", "/", "--chdir", self.working_dir or "/", "--"]
        return args + list(command)

    def options(self) -> dict[str, object]:
        """The sandbox's options, as recorded with the task (paths of this host left out)."""
        return {
            "unshare": "all",
            "network": "none",
            "rootfs": "read-only",
            "tmp": "private tmpfs",
            "die_with_parent": True,
            "inputs": "read-only, declared artifacts only",
            "env": {k: v for k, v in sorted(self.environment().items())},
            "working_dir": self.working_dir or "/",
        }


def _image_binds(rootfs: Path, mount_points: Iterable[Path]) -> list[str]:
    """Binds for the image's entries, splitting the directories that lead to mount points."""
    needed: set[Path] = set()
    for point in mount_points:
        needed.update(Path(*point.parts[: i + 1]) for i in range(1, len(point.parts)))
    args: list[str] = []

    def bind(source: Path, target: Path, top: bool) -> None:
        for entry in sorted(os.listdir(source)):
            if top and entry in _PRIVATE:
                continue
            inside = target / entry
            real = source / entry
            if inside in needed and real.is_dir() and not real.is_symlink():
                args.extend(["--dir", str(inside)])
                bind(real, inside, top=False)
            elif inside in needed:
                continue  # a file or link where a mount point goes: the mount wins
            elif real.is_symlink():
                args.extend(["--symlink", os.readlink(real), str(inside)])
            else:
                args.extend(["--ro-bind", str(real), str(inside)])

    bind(rootfs, Path("/"), top=True)
    return args


@dataclass(frozen=True, slots=True)
class Finished:
    returncode: int
    timed_out: bool


def run_sandboxed(argv: Sequence[str], timeout_s: float | None) -> Finished:
    """Runs bwrap, its output line by line to this process's stdout (kfp.local's log).

    On timeout the whole process group is killed: bwrap itself, and with it (through
    ``--die-with-parent`` and the end of its PID namespace) everything inside.
    """
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    out = sys.stdout  # read now: a redirected stdout is this thread's choice

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line.decode(errors="replace"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    reader.join(timeout=5)
    return Finished(proc.returncode, timed_out)
