"""kfp.local's output during a local run: passed on, and the tail kept as a task's error."""

from __future__ import annotations

import io
import re
from collections import deque
from typing import TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ - [A-Z]+ - ")  # kfp.local's logger format
_INDENT = "    "  # kfp.local indents a task's output by four spaces
_ERROR_LINES = 30
_ERROR_CHARS = 4000


class OutputTail(io.TextIOBase):
    """Forwards kfp.local's output to a sink and keeps the last lines since ``mark``.

    kfp.local prints a failing task's output (its traceback) and nothing else
    about the failure; those last lines are the error the run records.
    """

    def __init__(self, sink: TextIO, keep: int = 200) -> None:
        self._sink = sink
        self._lines: deque[str] = deque(maxlen=keep)
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._sink.write(text)
        *done, self._partial = (self._partial + text).split("\n")
        self._lines.extend(done)
        return len(text)

    def flush(self) -> None:
        self._sink.flush()

    def mark(self) -> None:
        self._lines.clear()
        self._partial = ""

    def text(self) -> str:
        """The task's last words: from its last traceback if it printed one."""
        lines = []
        for raw in (*self._lines, self._partial):
            line = _ANSI.sub("", raw).rstrip()
            if not line.strip() or set(line.strip()) <= {"-"} or _LOG_LINE.match(line):
                continue  # blank lines, rulers and kfp.local's own log lines
            lines.append(line.removeprefix(_INDENT))  # kfp.local indents a task's output
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
        lines = lines[starts[-1] :] if starts else lines[-_ERROR_LINES:]
        return "\n".join(lines)[-_ERROR_CHARS:]
