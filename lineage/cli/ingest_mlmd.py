"""``lineage ingest mlmd``: import the ML Metadata store KFP's v2 backend wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from lineage.cli.common import handle_errors, load_settings, open_store
from lineage.cli.digest_options import DIGEST, ENDPOINT, MAX_SIZE, digest_options, digesting
from lineage.cli.ingest import app
from lineage.cli.ingest_output import finish, progress_bar
from lineage.errors import ConfigError


def parse_since(text: str) -> int:
    """Milliseconds since the epoch, from digits (ms) or an ISO-8601 time (UTC if naive)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"--since takes an ISO-8601 time (2024-05-01T12:00:00Z) or epoch milliseconds, "
            f"got {text!r}"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@app.command("mlmd")
@handle_errors
def ingest_mlmd(
    sqlite: Path | None = typer.Option(None, "--sqlite", help="KFP's MLMD as a SQLite file."),
    mysql: str | None = typer.Option(
        None, "--mysql", help="KFP's MLMD database: mysql://user:pw@host:3306/metadb."
    ),
    grpc: str | None = typer.Option(None, "--grpc", help="KFP's metadata-grpc-service, HOST:PORT."),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Read what changed since this time (ISO-8601 or epoch ms); the watermark stays.",
    ),
    full: bool = typer.Option(False, "--full", help="Ignore the watermark and read everything."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    digest_artifacts: bool = DIGEST,
    digest_max_size: str = MAX_SIZE,
    artifact_endpoint: str | None = ENDPOINT,
) -> None:
    """Import runs, tasks, artifacts and events from KFP's ML Metadata (read-only on it)."""
    from lineage.ingest.kfp_mlmd.importer import KfpMlmdIngest
    from lineage.ingest.kfp_mlmd.source_store import (
        open_grpc_source,
        open_mysql_source,
        open_sqlite_source,
    )

    chosen = [
        name
        for name, value in (("--sqlite", sqlite), ("--mysql", mysql), ("--grpc", grpc))
        if value
    ]
    if len(chosen) != 1:
        raise ConfigError(
            "name one source: --sqlite PATH, --mysql URL or --grpc HOST:PORT"
            + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    since_ms = parse_since(since) if since is not None else None
    settings = load_settings()
    if sqlite is not None:
        if sqlite.expanduser().resolve() == settings.sqlite_path().expanduser().resolve():
            raise ConfigError(f"{sqlite} is the lineage store itself, not a KFP source")
        source = open_sqlite_source(sqlite)
    elif mysql is not None:
        source = open_mysql_source(mysql)
    else:
        assert grpc is not None
        source = open_grpc_source(grpc)
    options = digest_options(digest_artifacts, digest_max_size, artifact_endpoint)
    with open_store(settings) as opened, digesting(opened, options, as_json) as digest:
        ingest = KfpMlmdIngest(source, digest.store, since_ms=since_ms, full=full)
        with progress_bar("runs", as_json or digest.progress is not None) as progress:
            report = ingest.run(digest.progress or progress)
    finish(report, as_json, ingest.has_records)
