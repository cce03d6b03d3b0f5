"""What every real service shares: free ports, binaries, logs, and a process group
started in its own session and killed whole."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
NEO4J_RUN = REPO_ROOT / "tools" / "neo4j" / "run"


class ServiceError(RuntimeError):
    """A service could not be started (missing binary, crash, or not ready in time)."""


def on_ci() -> bool:
    """CI must run every service test, so there a service that cannot start is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1, for a server to bind right after
    (_Service.start moves to another one if something else got there first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(*names: str) -> str:
    """First of `names` on PATH or in the sbin dirs (mariadbd lives in /usr/sbin, which
    is not on a normal user's PATH)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    missing = f"{names[0]} is not" if len(names) == 1 else f"none of {', '.join(names)} is"
    raise ServiceError(f"{missing} installed (see scripts/install-services)")


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log written)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


class _Process:
    """One child process in its own process group, with stdout+stderr appended to a log."""

    _running: ClassVar[set[_Process]] = set()  # for the atexit safety net

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self, env: Mapping[str, str] | None = None) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            # A new session makes the child a group leader, so stop() also reaches whatever
            # it spawns (e.g. mvn when tools/neo4j/run resolves the classpath).
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        _Process._running.add(self)

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM for a clean shutdown (flushed stores); SIGKILL if it takes too long."""
        popen, self._popen = self._popen, None
        _Process._running.discard(self)
        if popen is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(popen.pid, sig)
            try:
                popen.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
        raise ServiceError(f"{self.name} (pid {popen.pid}) did not exit after SIGKILL")

    def wait_ready(self, check: Callable[[], bool], timeout: float) -> float:
        """Poll `check` until it is true; returns the seconds it took. Raises with the log
        tail if the process dies or the timeout passes, so CI output shows why."""
        started = time.monotonic()
        last_error = ""
        while time.monotonic() - started < timeout:
            if not self.alive:
                code = self.exit_code
                self.stop(timeout=10)  # reap anything it left behind in its group
                raise ServiceError(
                    f"{self.name} exited with code {code} before it was ready; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            try:
                if check():
                    return time.monotonic() - started
            except Exception as exc:  # not up yet: connection refused, handshake, ...
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        self.stop(timeout=10)
        raise ServiceError(
            f"{self.name} not ready after {timeout:.0f}s (last error: {last_error or 'none'}); "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )


@atexit.register
def _stop_leftovers() -> None:
    # Interrupted sessions skip fixture teardown; never leave servers behind.
    for proc in list(_Process._running):
        proc.stop(timeout=15)


class _Service:
    """Shared lifecycle: a temporary home, start/stop, close() removes the home."""

    name = "service"

    def __init__(self, home: Path | None = None, port: int | None = None) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix=f"lineage-{self.name}-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        # A port we picked may be taken (by another test session, or by some client's
        # ephemeral port) before the server binds it; then the first start tries another.
        self._may_move_port = port is None
        self.log_path = self.home / f"{self.name}.log"
        self.startup_seconds: float | None = None  # of the latest start(), for reports
        self._proc: _Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive

    def start(self) -> Self:
        if self.running:
            return self
        started = time.monotonic()
        for attempt in range(3):
            try:
                self._start()
                break
            except ServiceError as exc:
                lost_port = "address already in use" in str(exc).lower()
                if not (lost_port and self._may_move_port and attempt < 2):
                    raise
                self.port = free_port()
        # Restarts must come back on the same port: clients keep their URI.
        self._may_move_port = False
        self.startup_seconds = time.monotonic() - started
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def _spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> _Process:
        self._proc = _Process(self.name, argv, self.log_path)
        self._proc.start(env)
        return self._proc

    def stop(self) -> None:
        """Stops the process but keeps data and port, so start() resumes the same server."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
