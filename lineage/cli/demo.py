"""``lineage demo``: record the example pipelines (once), then serve the API over them."""

from __future__ import annotations

import typer

from lineage.cli.common import api_settings, handle_errors, load_settings, open_store
from lineage.cli.serve import bind, check_bind, serve_on, url_host


@handle_errors
def demo(
    port: int = typer.Option(8000, "--port", help="Port to serve on (loopback)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
) -> None:
    """Record the example pipelines into LINEAGE_HOME (once), then serve the API."""
    from lineage.examples.demo import example_queries, record_examples

    settings = load_settings()
    api = api_settings()
    auth_line = check_bind(host, api.auth_enabled)
    sock = bind(host, port)  # before recording: a busy port fails at once, not after it
    home = settings.home.expanduser()
    # kfp.local narrates every task at length; keep it in a file and print one line each.
    log_path = home / "demo" / "kfp-local.log"
    with open_store(settings) as store:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("a", encoding="utf-8") as log:
            done = record_examples(store, home, log, lambda m: typer.echo(m, err=True))
        queries = example_queries(store, done.runs)
    if done.recorded_now:
        typer.echo(f"kfp.local's output is in {log_path}", err=True)
        typer.echo(f"recorded {done.recorded_now} example runs into {home}")
    else:
        typer.echo(f"the {len(done.runs)} example runs are already in {home}: nothing to record")
    url = f"http://{url_host(host)}:{port}/graphql"
    banner = [f"GraphiQL: {url}", auth_line, "", "Try:"]
    for title, text in queries:
        banner += [f"  # {title}", f"  {text}", ""]
    serve_on(sock, 1, banner, api)


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
