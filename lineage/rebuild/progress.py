"""Progress of a migration: a bar per transfer on a terminal, nothing otherwise.

A migration reports through the small ``Progress`` interface, so a caller (a CLI, a
test, a supervising process) can watch the bytes move without the copy knowing who
listens.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Protocol

from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichBar


class Progress(Protocol):
    def start(self, name: str, total: int) -> None:
        """A transfer of ``total`` bytes begins."""
        ...

    def advance(self, size: int) -> None:
        """``size`` more bytes of the current transfer have been copied and hashed."""
        ...

    def finish(self) -> None:
        """The current transfer is done (copied, skipped or failed)."""
        ...


class Quiet:
    """Reports nothing: the default when the output is not a terminal."""

    def start(self, name: str, total: int) -> None:
        pass

    def advance(self, size: int) -> None:
        pass

    def finish(self) -> None:
        pass


class TerminalProgress:
    """One rich bar per transfer, removed when the transfer ends."""

    def __init__(self) -> None:
        self._bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._task: TaskID | None = None

    def start(self, name: str, total: int) -> None:
        if self._task is None and not self._bar.live.is_started:
            self._bar.start()
        self._task = self._bar.add_task(name[:60], total=total)

    def advance(self, size: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, size)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None

    def close(self) -> None:
        self._bar.stop()


@contextlib.contextmanager
def reporting(progress: Progress | None) -> Iterator[Progress]:
    """The caller's progress, else a bar on an interactive terminal (stderr), else quiet."""
    if progress is not None:
        yield progress
        return
    if not sys.stderr.isatty():
        yield Quiet()
        return
    bar = TerminalProgress()
    try:
        yield bar
    finally:
        bar.close()
