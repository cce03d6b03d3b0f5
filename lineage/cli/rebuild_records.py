"""``lineage rebuild ls|verify``: the recorded rebuilds, and a recorded rebuild checked again."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli.common import handle_errors, load_settings, open_store, print_json
from lineage.rebuild.rebuilds import list_rebuilds, verify_rebuild

JSON = typer.Option(False, "--json", help="Machine-readable output.")


@handle_errors
def ls(
    model_id: str | None = typer.Argument(
        None, metavar="[MODEL_ID]", help="Only rebuilds of this artifact, or comparing it."
    ),
    as_json: bool = JSON,
) -> None:
    """The recorded rebuilds, newest first."""
    with open_store(load_settings()) as store:
        rebuilds = list_rebuilds(store, model_id)
    if as_json:
        print_json([r.as_dict() for r in rebuilds])
        return
    if not rebuilds:
        typer.echo("no rebuilds" + (f" of {model_id}" if model_id else ""))
        return
    table = Table("rebuild", "model", "environment", "verdict", "hermetic", "finished")
    for rebuild in rebuilds:
        result = rebuild.result
        table.add_row(
            rebuild.id,
            result.model,
            result.environment,
            result.verdict.value,
            "yes" if result.hermetic else "no",
            result.finished or "-",
        )
    Console().print(table)


@handle_errors
def verify(
    rebuild_id: str = typer.Argument(
        ..., metavar="REBUILD_ID", help="The rebuild's id (rebuild:…)."
    ),
    as_json: bool = JSON,
) -> None:
    """Check a finished rebuild again: hash its rebuilt outputs' bytes where they are
    reachable and compare them with the plan's expected digests. Exits non-zero when the
    verdict is no longer what was recorded."""
    with open_store(load_settings()) as store:
        check = verify_rebuild(store, rebuild_id)
    if as_json:
        print_json(check.as_dict())
    else:
        console = Console()
        for output in check.outputs:
            recorded = output.recorded
            line = f"{recorded.task}.{recorded.output}: {output.now.value}"
            if output.changed:
                line += f" (recorded {recorded.verdict.value})"
            if output.note:
                line += f"; {output.note}"
            console.print(line, highlight=False, soft_wrap=True)
        was = check.rebuild.result.verdict.value
        if check.changed:
            console.print(f"{check.rebuild.id}: {check.verdict.value}, recorded {was}")
        else:
            console.print(f"{check.rebuild.id}: {check.verdict.value}, as recorded")
    if check.changed:
        raise typer.Exit(1)
