"""``lineage snapshot``: content-addressed data snapshots."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import fail, handle_errors, load_settings, open_store, print_json
from lineage.snapshots import ops
from lineage.snapshots.blobs import BlobStore, open_blob_store
from lineage.snapshots.lineage import snapshot_record

app = typer.Typer(help="Data snapshots: a Merkle manifest per tree, blobs stored once.")

STORE_HELP = "The snapshot store: a directory or fsspec URL (default $LINEAGE_SNAPSHOT_STORE, "
STORE_HELP += "else $LINEAGE_HOME/snapshots)."


def _blobs(store: str | None) -> BlobStore:
    settings = load_settings()
    return open_blob_store(store or settings.snapshot_store, settings.home)


@app.command("create")
@handle_errors
def create(
    path: Path = typer.Argument(..., help="The directory (or file) to snapshot."),
    name: str | None = typer.Option(None, "--name", help="A name to find the snapshot by."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Snapshot PATH and record it in the metadata store as a lineage node; prints the
    snapshot id (the Merkle root of its content)."""
    blobs = _blobs(store)
    created = ops.create(path, blobs, name=name)
    # After the blobs and manifest: a node never names a snapshot the store lacks.
    with open_store(load_settings()) as metadata:
        metadata.put_run(snapshot_record(created, blobs))
    if as_json:
        print_json(created.as_dict())
        return
    typer.echo(created.manifest.id)
    typer.echo(
        f"  {len(created.manifest.files)} files, {created.manifest.size} bytes; "
        f"{created.blobs_written} blobs written, {created.blobs_reused} already stored",
        err=True,
    )


@app.command("verify")
@handle_errors
def verify(
    snapshot: str = typer.Argument(..., help="Snapshot id, root, unique prefix or name."),
    path: Path | None = typer.Argument(None, help="A tree that must hold exactly the snapshot."),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check the snapshot's stored blobs and, given PATH, that PATH matches it file by file."""
    blobs = _blobs(store)
    result = ops.verify(blobs, ops.resolve(blobs, snapshot), path)
    if as_json:
        print_json(
            {
                "id": f"snapshot:sha256:{result.root}",
                "ok": result.ok,
                "problems": [{"path": p.path, "problem": p.what} for p in result.problems],
            }
        )
    elif result.ok:
        typer.echo(f"ok snapshot:sha256:{result.root}")
    for problem in result.problems[:50]:
        typer.secho(f"{problem}", fg=typer.colors.RED, err=True)
    if not result.ok:
        more = f" and {len(result.problems) - 1} more" if len(result.problems) > 1 else ""
        raise fail(f"snapshot {result.root} does not verify: {result.problems[0]}{more}", 4)


@app.command("restore")
@handle_errors
def restore(
    snapshot: str = typer.Argument(..., help="Snapshot id, root, unique prefix or name."),
    dest: Path = typer.Argument(..., help="Where to write the tree."),
    force: bool = typer.Option(
        False, "--force", help="Write into a non-empty DEST, replacing the snapshot's paths."
    ),
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
) -> None:
    """Restore a snapshot into DEST, checking every blob as it is copied."""
    blobs = _blobs(store)
    root = ops.resolve(blobs, snapshot)
    manifest = ops.restore(blobs, root, dest, force=force)
    typer.echo(f"restored snapshot:sha256:{root} ({len(manifest.files)} files) into {dest}")


@app.command("ls")
@handle_errors
def ls(
    store: str | None = typer.Option(None, "--store", help=STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The snapshots in the store."""
    summaries = ops.list_snapshots(_blobs(store))
    if as_json:
        print_json([s.as_dict() for s in summaries])
        return
    table = Table("id", "files", "bytes", "names", "created")
    for s in summaries:
        table.add_row(
            f"sha256:{s.root[:16]}", str(s.files), str(s.bytes), ",".join(s.names), s.created_at
        )
    Console().print(table)
