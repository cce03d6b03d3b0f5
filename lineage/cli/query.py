"""``lineage query``: one GraphQL request run in-process (no server), audited as served."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from lineage.cli.common import api_settings, handle_errors, load_settings
from lineage.errors import ConfigError


def _variables(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--var takes name=value, got {pair!r}")
        try:
            out[name] = json.loads(raw)  # numbers, booleans, null, quoted strings, objects
        except ValueError:
            out[name] = raw  # anything else is a plain string (an id, a digest)
    return out


def _document(text: str) -> str:
    if not text.startswith("@"):
        return text
    path = Path(text[1:])
    try:
        return path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the query file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the query file {path} is not UTF-8 text (byte {exc.start})") from exc


@handle_errors
def query(
    document: str = typer.Argument(..., help="A GraphQL document, or @FILE to read one."),
    var: list[str] = typer.Option([], "--var", help="A variable, name=value (repeatable)."),
    operation: str | None = typer.Option(None, "--operation", help="The operation to run."),
) -> None:
    """Run a GraphQL query in-process (no server) and print {"data", "errors"} as JSON.

    The request is audited as the server audits, as the local OS user."""
    from lineage.api.local import run_query

    outcome = run_query(
        load_settings(), api_settings(), _document(document), _variables(var), operation
    )
    body = {"data": outcome.body.get("data"), "errors": outcome.body.get("errors")}
    sys.stdout.write(json.dumps(body, indent=2, sort_keys=True, default=str) + "\n")
    if outcome.codes:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.command("query")(query)
