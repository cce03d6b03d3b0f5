"""The ``--digest-artifacts`` options of the ingest commands, and their progress bar."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from lineage.errors import ConfigError
from lineage.ingest.artifact_digest import DEFAULT_MAX_BYTES, ArtifactDigester, DigestOptions
from lineage.ingest.units import Progress
from lineage.store.port import MetadataStore

DIGEST = typer.Option(
    False,
    "--digest-artifacts",
    help="Read each artifact without a digest (file://, s3://, minio://, gs://... through "
    "fsspec) and record its sha256; unreachable or too large ones record why not.",
)
MAX_SIZE = typer.Option(
    "1GiB",
    "--digest-max-size",
    help="Leave artifacts larger than this undigested (e.g. 500MB, 2GiB, 0 for no cap).",
)
ENDPOINT = typer.Option(
    None,
    "--artifact-endpoint",
    help="The S3 endpoint that minio:// and s3:// artifacts are read at (KFP's MinIO, e.g. "
    "http://minio-service.kubeflow:9000); credentials come from the AWS_* environment.",
)

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40})
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str) -> int | None:
    """Bytes from ``500MB``, ``2GiB``, ``1048576``; 0 means no cap (None)."""
    match = _SIZE.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ConfigError(
            f"--digest-max-size takes a size such as 500MB, 2GiB or 0 (no cap), got {text!r}"
        )
    size = int(match.group(1)) * _UNITS[unit]
    return size or None


def digest_options(enabled: bool, max_size: str, endpoint: str | None) -> DigestOptions:
    cap = parse_size(max_size) if max_size else DEFAULT_MAX_BYTES
    return DigestOptions(enabled=enabled, max_bytes=cap, endpoint=endpoint)


@dataclass(frozen=True)
class Digesting:
    store: MetadataStore  # writes through an ArtifactDigester
    progress: Progress | None  # the runs' progress, on the digest bar; None: use your own


@contextmanager
def digesting(store: MetadataStore, options: DigestOptions, as_json: bool) -> Iterator[Digesting]:
    """The store, writing through an ArtifactDigester. While digesting on a terminal, one
    bar shows the runs and another the bytes read (rich draws one live display at a time,
    so the command's own runs bar stays off: see ``progress``)."""
    from lineage.ingest.digesting_store import DigestingStore

    console = Console()
    if not options.enabled or as_json or not console.is_terminal:
        yield Digesting(DigestingStore(store, ArtifactDigester(options)), None)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Bar(*columns, console=console, transient=True) as bar:
        runs = bar.add_task("runs", total=None, detail="")
        read = bar.add_task("artifacts read", total=None, detail="")
        done = [0]

        def on_unit(label: str, finished: int, total: int) -> None:
            bar.update(runs, completed=finished, total=total, detail=f"{finished}/{total} {label}")

        def on_bytes(count: int, _artifact_total: int) -> None:
            done[0] += count
            bar.update(read, detail=f"{done[0] / 1e6:.1f} MB")

        yield Digesting(DigestingStore(store, ArtifactDigester(options, on_bytes)), on_unit)
