"""The ``--runner sandbox`` options of ``lineage run``, and the runner they open."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lineage.errors import BadInputError
from lineage.settings import Settings

if TYPE_CHECKING:
    from lineage.sandbox.runner import SandboxRunner

RUNNER = typer.Option(
    "subprocess",
    "--runner",
    help="subprocess (kfp.local's SubprocessRunner, in this Python) or sandbox "
    "(each task in its pinned image, offline, with bubblewrap).",
)
REGISTRY = typer.Option(
    None, "--registry", help="sandbox: pull every image from this registry (host:port)."
)
INSECURE = typer.Option(
    [], "--insecure", help="sandbox: a host:port to reach over plain HTTP (repeatable)."
)
TIMEOUT = typer.Option(
    3600.0, "--task-timeout", help="sandbox: seconds a task may run before it is killed."
)
EPOCH = typer.Option(
    0, "--source-date-epoch", envvar="SOURCE_DATE_EPOCH", help="sandbox: SOURCE_DATE_EPOCH."
)
CACHE = typer.Option(
    None, "--image-cache", help="sandbox: the image cache (default: $LINEAGE_HOME/sandbox)."
)


def open_sandbox(
    settings: Settings,
    runner: str,
    registry: str | None,
    insecure: list[str],
    timeout_s: float,
    epoch: int,
    cache: Path | None,
) -> SandboxRunner | None:
    """The sandbox runner for ``--runner sandbox`` (its tools checked), None for subprocess."""
    if runner == "subprocess":
        return None
    if runner != "sandbox":
        raise BadInputError(f"--runner {runner!r}: use subprocess or sandbox")
    from lineage.cli.images import make_client
    from lineage.sandbox.runner import SandboxRunner

    return SandboxRunner.open(
        cache or settings.home.expanduser() / "sandbox",
        make_client(insecure, None),
        registry,
        timeout_s,
        epoch,
    )
