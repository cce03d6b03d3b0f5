"""A process that has imported the CLI once and forks a child per command, to kill cheaply.

Starting ``python -m lineage.cli`` costs a second or more of imports (MLMD, kfp,
pydantic); a test that kills a hundred commands would spend minutes on it. The
server imports once; each command runs in a forked child that starts at once, in a
process group of its own, so that ``kill -9`` of the group takes kfp.local's task
processes with it, as a killed terminal would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_SERVER = r"""
import json, os, sys
import lineage.cli.main
import lineage.ingest.kfp_local.run, lineage.ingest.kfp_mlmd.importer  # noqa: F401
import lineage.ingest.spec  # noqa: F401

for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        for fd, name in ((1, "log"), (2, "err")):
            os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        for key in [k for k in os.environ if k.startswith("LINEAGE_")]:
            del os.environ[key]
        os.environ.update(job["env"])
        os.environ["LINEAGE_HOME"] = job["home"]
        code = 1
        try:
            lineage.cli.main.app(job["args"], prog_name="lineage")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    try:
        os.setpgid(pid, pid)  # here too: a kill may come before the child has run a line
    except OSError:
        pass
    print(json.dumps({"pid": pid}), flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"status": os.waitstatus_to_exitcode(status)}), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    code: int  # the exit code, or -signal
    seconds: float
    stdout: str
    stderr: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


class CliForks:
    def __init__(self, logs: Path) -> None:
        self._logs = logs
        self._count = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(
        self,
        args: list[str],
        home: Path,
        kill_after: float | None = None,
        env: dict[str, str] | None = None,
    ) -> Outcome:
        """Run ``lineage ARGS`` with ``LINEAGE_HOME=home`` and the ``LINEAGE_`` settings in
        ``env``; kill -9 it (and its process group) after ``kill_after`` seconds."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._count += 1
        log = self._logs / f"{self._count:04d}.log"
        err = self._logs / f"{self._count:04d}.err"
        job = {"args": args, "home": str(home), "log": str(log), "err": str(err), "env": env or {}}
        start = time.monotonic()
        self._proc.stdin.write(json.dumps(job) + "\n")
        self._proc.stdin.flush()
        pid = int(json.loads(self._proc.stdout.readline())["pid"])
        if kill_after is not None:
            time.sleep(kill_after)
            with contextlib.suppress(ProcessLookupError):  # it ended first: the outcome says so
                os.killpg(pid, signal.SIGKILL)
        code = int(json.loads(self._proc.stdout.readline())["status"])
        # A child killed before it opened its logs leaves none.
        out, error = (p.read_text(errors="replace") if p.exists() else "" for p in (log, err))
        return Outcome(code, time.monotonic() - start, out, error)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
