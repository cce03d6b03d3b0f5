"""The store is opened once: the API, and a command that asks a lineage question,
read it through one connection, which the MLMD reader shares."""

from __future__ import annotations

import os
from pathlib import Path

from lineage.api.config import ApiSettings
from lineage.api.http.runtime import open_shared
from lineage.settings import Settings
from lineage.wiring import Backend, open_lineage, open_service


def _handles(path: Path) -> int:
    """How many open files of this process are ``path`` (one per SQLite connection)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            count += os.readlink(fd) == str(path)
        except OSError:  # closed while listed
            continue
    return count


def test_the_api_opens_the_store_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with open_shared(settings, ApiSettings()) as shared:
        assert _handles(settings.sqlite_path()) == 1
        assert shared.reader.backend == "mlmd"
        # One connection, one thread: reader calls and store calls never overlap on it.
        assert shared.reader_blocking is shared.blocking


def test_a_command_opens_the_store_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "lineage")
    with open_lineage(settings, Backend.MLMD) as opened:
        assert _handles(settings.sqlite_path()) == 1
        assert opened.service.reader is opened.reader
    # (MLMD lets go of a closed store's file when it is collected: another home here.)
    settings = Settings(home=tmp_path / "service")
    with open_service(settings, Backend.AUTO):
        assert _handles(settings.sqlite_path()) == 1
