"""``lineage serve``, ``lineage api export-schema``, and the socket ``lineage demo`` serves on."""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from lineage.cli.common import api_settings, fail, handle_errors, load_settings, open_store
from lineage.errors import ConfigError

if TYPE_CHECKING:
    from lineage.api.config import ApiSettings

app = typer.Typer(help="The GraphQL API's published contract.")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth_enabled: bool) -> str:
    """With no auth, only this machine may connect: refuse any other address."""
    if auth_enabled:
        return "auth: bearer tokens required"
    if not is_loopback(host):
        raise ConfigError(
            f"no auth is configured, so the API binds loopback only, not {host}: set "
            "LINEAGE_API__TOKEN_FILE or LINEAGE_API__JWKS_URL to serve other hosts"
        )
    return "auth: off (no token file or JWKS configured); bound to loopback only"


def connection_limits(api: ApiSettings) -> dict[str, Any]:
    """uvicorn's bounds on slow and numerous clients, from the settings: the header
    deadline and connections at once (both applied, and audited, by our protocol) and
    idle keep-alive."""
    from lineage.api.http.transport import HeaderDeadlineProtocol

    return {
        "http": HeaderDeadlineProtocol,
        "timeout_keep_alive": api.keep_alive_s,
        "limit_concurrency": api.max_connections,
    }


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything announces its URL: a busy port is one
    line naming it and the option that picks another, not someone else's URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)  # worker processes accept on it too
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} on {host} is in use by another process: choose another with --port"
            ) from exc
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def serve_on(
    sock: socket.socket, workers: int, banner: list[str], api: ApiSettings | None = None
) -> None:
    import uvicorn

    limits = connection_limits(api or api_settings())
    for line in banner:
        typer.echo(line)
    if workers > 1:
        # Each worker builds its own app (and store connection) from the environment,
        # and accepts on the socket bound here. Without a configured cursor key each
        # would draw its own, and refuse the cursors its siblings handed out: one key
        # for this launch, passed down through the environment the workers inherit.
        os.environ.setdefault("LINEAGE_CURSOR_KEY", secrets.token_urlsafe(32))
        config = uvicorn.Config(
            "lineage.api.http.app:app_from_env",
            factory=True,
            workers=workers,
            log_level="warning",
            **limits,
        )
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
        return
    from lineage.api.http.app import app_from_env

    config = uvicorn.Config(app_from_env(), log_level="warning", **limits)
    uvicorn.Server(config).run(sockets=[sock])


@handle_errors
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", help="Port to bind."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
) -> None:
    """Serve GraphQL (with GraphiQL) at /graphql and health at /healthz."""
    settings = load_settings()
    api = api_settings()
    auth_line = check_bind(host, api.auth_enabled)
    # The store must open before the server starts: a damaged or unreachable store is
    # then one line naming it, not uvicorn's start-up traceback (each worker opens its own).
    with open_store(settings):
        pass
    sock = bind(host, port)
    url = f"http://{url_host(host)}:{port}/graphql"
    serve_on(
        sock,
        workers,
        [
            f"lineage API at {url} (GraphiQL in a browser)",
            auth_line,
            f"store: {settings.store.type}",
        ],
        api,
    )


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@app.command("export-schema")
@handle_errors
def export_schema(
    out: Path | None = typer.Option(None, "--out", help="Default: graphql/schema.graphql."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when the file has drifted."),
) -> None:
    """Write the GraphQL schema (SDL) exported from the code."""
    from lineage.api.export import DEFAULT_PATH, export

    path = out or DEFAULT_PATH
    if not export(path, check):
        raise fail(f"{path} differs from the code: run lineage api export-schema")
    typer.echo(f"{path}: {'current' if check else 'written'}")


def register(root: typer.Typer) -> None:
    root.command("serve")(serve)
    root.add_typer(app, name="api")
