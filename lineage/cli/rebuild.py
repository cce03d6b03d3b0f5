"""``lineage rebuild plan|check``: a model's hermetic build definition and its scorecard
(``ls`` and ``verify``, of recorded rebuilds, are in ``lineage.cli.rebuild_records``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lineage.cli import rebuild_records
from lineage.cli.common import handle_errors, load_settings, open_store, print_json
from lineage.rebuild.document import parse_tolerances, write_plan
from lineage.rebuild.gaps import GapsFoundError
from lineage.rebuild.planner import Plan, build_plan
from lineage.settings import Settings
from lineage.wiring import Backend, open_service

app = typer.Typer(
    help="Rebuild a model version elsewhere: its build definition and hermeticity.",
    no_args_is_help=True,
)
app.command("ls")(rebuild_records.ls)
app.command("verify")(rebuild_records.verify)

MODEL = typer.Argument(..., metavar="MODEL_ID", help="The model artifact's id (artifact:…).")
JSON = typer.Option(False, "--json", help="Machine-readable output.")
BACKEND = typer.Option(
    Backend.AUTO, "--backend", help="auto: Neo4j when configured and current, else MLMD."
)


def _notice(message: str) -> None:
    typer.secho(f"note: {message}", fg=typer.colors.YELLOW, err=True)


@contextmanager
def _planning(settings: Settings, backend: Backend) -> Iterator[tuple[Any, Any]]:
    with open_store(settings) as store, open_service(settings, backend, _notice) as service:
        yield service, store


def _plan(model_id: str, tolerances: Mapping[str, float], backend: Backend) -> Plan:
    settings = load_settings()
    with _planning(settings, backend) as (service, store):
        return build_plan(service, store, model_id, tolerances)


@app.command("plan")
@handle_errors
def plan(
    model_id: str = MODEL,
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the plan here."),
    allow_gaps: bool = typer.Option(
        False, "--allow-gaps", help="Write the plan even when it has hermeticity gaps."
    ),
    tolerance: list[str] = typer.Option(
        [], "--tolerance", help="NAME=VALUE: how far a metric may drift (repeatable)."
    ),
    as_json: bool = JSON,
    backend: Backend = BACKEND,
) -> None:
    """Walk upstream from a model and write its rebuild plan (content-addressed JSON)."""
    tolerances = parse_tolerances(tolerance)
    built = _plan(model_id, tolerances, backend)
    if built.gaps and not allow_gaps:
        for gap in built.gaps:
            typer.echo(f"gap {gap.kind.value} {gap.subject}: {gap.reason}", err=True)
        raise GapsFoundError(
            f"{model_id}: the plan has {len(built.gaps)} hermeticity gap(s); nothing written "
            "(--allow-gaps writes it with them)"
        )
    if output is not None:
        write_plan(output, built.document)
    if as_json:
        print_json(built.document)
        return
    _print_plan(built.document)
    if output is not None:
        typer.echo(f"wrote {output}")


def _print_plan(document: Mapping[str, Any]) -> None:
    console = Console()
    console.print(f"plan {document['id']}", highlight=False, soft_wrap=True)
    console.print(f"model {document['model']['artifact']}", highlight=False, soft_wrap=True)
    for run in document["runs"]:
        spec = run["pipeline_spec"]
        console.print(
            f"run {run['id']}  pipeline {run['pipeline']}  runner {run['runner']}  "
            f"spec {spec['digest'] if spec else '-'}",
            highlight=False,
        )
        table = Table("task", "image digest", "how", "output", "expected digest")
        for task in run["tasks"]:
            image = task["image"] or {}
            outputs = task["outputs"] or [{"name": "", "digest": ""}]
            for out in outputs:
                table.add_row(
                    task["path"],
                    image.get("digest") or ("tag only" if image else "-"),
                    image.get("how") or "-",
                    out["name"],
                    out["digest"] or "none",
                )
        console.print(table)
    for item in document["inputs"]:
        held = item["digest"] or ", ".join(s["id"] for s in item["snapshots"]) or "no digest"
        console.print(f"input {item['uri']}  {held}", highlight=False, soft_wrap=True)
    for gap in document["gaps"]:
        console.print(
            f"gap {gap['kind']} {gap['subject']}: {gap['reason']}", highlight=False, soft_wrap=True
        )
    if not document["gaps"]:
        console.print("no hermeticity gaps", highlight=False, soft_wrap=True)


@app.command("check")
@handle_errors
def check(
    model_id: str = MODEL,
    env: list[str] = typer.Option(
        [], "--env", help="Only this configured environment (repeatable; default: all)."
    ),
    as_json: bool = JSON,
    backend: Backend = BACKEND,
) -> None:
    """The hermeticity scorecard of a model: pinned references, gaps, what each
    environment holds, and the last verified rebuild."""
    from lineage.images.auth import DockerConfig
    from lineage.images.client import RegistryClient
    from lineage.rebuild.environments import pick_environments
    from lineage.rebuild.scorecard import scorecard

    settings = load_settings()
    environments = pick_environments(settings, env)
    with _planning(settings, backend) as (service, store):
        document = build_plan(service, store, model_id).document
        client = RegistryClient(
            docker_config=DockerConfig.load(None), insecure=settings.insecure_registries
        )
        with client:
            card = scorecard(document, store, environments, settings.home.expanduser(), client)
    if as_json:
        print_json(card)
    else:
        _print_card(card)


def _print_card(card: Mapping[str, Any]) -> None:
    console = Console()
    console.print(f"model {card['model']}\nplan {card['plan']}", highlight=False, soft_wrap=True)
    table = Table("references", "pinned", "of", "share")
    for category, share in card["pinned"].items():
        ratio = "-" if share["share"] is None else f"{share['share']:.0%}"
        table.add_row(category, str(share["pinned"]), str(share["total"]), ratio)
    console.print(table)
    for gap in card["gaps"]:
        console.print(
            f"gap {gap['kind']} {gap['subject']}: {gap['reason']}", highlight=False, soft_wrap=True
        )
    console.print("hermetic" if card["hermetic"] else f"{len(card['gaps'])} gap(s)")
    for name, place in card["environments"].items():
        console.print(
            f"environment {name}  registry {place['registry'] or '-'}  "
            f"store {place['store'] or '-'}",
            highlight=False,
        )
        for image in place["images"]:
            what = image.get("target") or image.get("repository") or "?"
            console.print(f"  image {what}: {image['state']}", highlight=False, soft_wrap=True)
        for item in place["inputs"]:
            console.print(
                f"  input {item['artifact']}: {item['state']}", highlight=False, soft_wrap=True
            )
    if not card["environments"]:
        console.print("no environments configured (LINEAGE_ENVIRONMENTS__<NAME>__…)")
    console.print(f"last rebuild: {card['last_rebuild_summary']}", highlight=False, soft_wrap=True)


@app.command("run")
@handle_errors
def run(
    plan_file: Path = typer.Argument(
        ..., metavar="PLAN", help="A plan file (`lineage rebuild plan -o`)."
    ),
    env: str = typer.Option(..., "--env", help="The target environment's name."),
    allow_gaps: bool = typer.Option(
        False, "--allow-gaps", help="Run a plan with hermeticity gaps; the rebuild carries them."
    ),
    as_json: bool = JSON,
) -> None:
    """Migrate a plan's images and inputs into an environment, run it there, and compare
    every output with the plan (exit 0 identical or within tolerance, 11 divergent,
    12 missing or failed)."""
    from lineage.rebuild.document import load_plan
    from lineage.rebuild.execute import EXIT_CODES, rebuild

    settings = load_settings()
    document = load_plan(plan_file)
    with open_store(settings) as store:
        # With --json, stdout carries the JSON alone; kfp.local's logs go to stderr.
        log = sys.stderr if as_json else sys.stdout
        done = rebuild(document, env, settings, store, allow_gaps=allow_gaps, log=log)
    result = done.result
    if as_json:
        print_json({"id": done.id, **result.as_dict(), "location": done.location})
    else:
        _print_result({"id": done.id, **result.as_dict()}, done.location)
    code = EXIT_CODES[result.verdict]
    if code:
        raise typer.Exit(code)


def _print_result(result: Mapping[str, Any], location: str) -> None:
    console = Console()
    table = Table("task", "output", "verdict", "planned digest", "rebuilt digest / why")
    for out in result["outputs"]:
        detail = out["actual_digest"] or ""
        if out["verdict"] != "identical":
            detail = out["detail"] or detail
        table.add_row(out["task"], out["output"], out["verdict"], out["expected_digest"], detail)
    console.print(table)
    lines = [
        f"rebuild of {result['model']} in {result['environment']} "
        f"({result['runner']}): {result['verdict']}",
        f"rebuild {result['id']}",
        f"plan {result['plan_id']}  run {result['run'] or '-'}",
    ]
    if result["first_divergent_task"]:
        lines.append(f"first divergent task: {result['first_divergent_task']}")
    if result["downstream_affected"]:
        lines.append(f"affected downstream: {', '.join(result['downstream_affected'])}")
    lines.extend(f"caveat: {caveat}" for caveat in result["caveats"])
    lines.extend(f"gap {gap}" for gap in result["gaps"])
    lines.extend(f"spec {spec['digest']} ({spec['location']})" for spec in result["extra"]["specs"])
    lines.append(f"result {location}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
