"""``lineage images``: container images by digest."""

from __future__ import annotations

from pathlib import Path

import typer

from lineage.cli.common import fail, handle_errors, load_settings, open_store, print_json
from lineage.images.auth import DockerConfig
from lineage.images.client import RegistryClient
from lineage.images.reference import parse_reference
from lineage.ingest.image_links import resolve_all

app = typer.Typer(help="Container images: resolve tags to verified digests, link them to tasks.")


def make_client(insecure: list[str], docker_config: Path | None) -> RegistryClient:
    settings = load_settings()
    hosts = {*settings.insecure_registries, *insecure}
    return RegistryClient(docker_config=DockerConfig.load(docker_config), insecure=hosts)


@app.command("resolve")
@handle_errors
def resolve(
    reference: str | None = typer.Argument(
        None, help="An image reference, e.g. python:3.11 or registry:5000/team/app:v2."
    ),
    all_: bool = typer.Option(
        False, "--all", help="Resolve every image a recorded task names and link it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    insecure: list[str] = typer.Option(
        [], "--insecure", help="A host:port to reach over plain HTTP (repeatable)."
    ),
    docker_config: Path | None = typer.Option(
        None,
        "--docker-config",
        help="A Docker config.json with registry logins (default: $DOCKER_CONFIG/config.json "
        "or ~/.docker/config.json).",
    ),
) -> None:
    """Resolve REFERENCE to its manifest digest (and each platform's), or --all recorded ones."""
    if all_ == (reference is not None):
        raise fail("give either a REFERENCE or --all", 2)
    with make_client(insecure, docker_config) as client:
        if reference is not None:
            resolved = client.resolve(parse_reference(reference))
            if as_json:
                print_json(resolved.as_dict())
                return
            typer.echo(f"{resolved.reference}  {resolved.digest}")
            for platform in resolved.platforms:
                typer.echo(f"  {platform.name:<20} {platform.digest}")
            return
        with open_store() as store:
            report = resolve_all(store, client.resolve)
        if as_json:
            print_json(report.as_dict())
        else:
            typer.echo(report.summary())
            for unit, message in report.failures:
                typer.echo(f"  failed {unit}: {message}", err=True)
        report.check(source_has_records=False)
