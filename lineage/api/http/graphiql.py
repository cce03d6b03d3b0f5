"""GraphiQL, served from the package: no CDN, so it works offline and air-gapped.

The page and its assets are built from web/graphiql (pinned npm packages, bundled by
``scripts/build-graphiql``) into ``lineage/api/http/static/graphiql``. The page posts to
the endpoint that served it, with the headers of GraphiQL's header editor, which is
where a bearer token goes. Its Content-Security-Policy allows this origin alone, so
the browser itself refuses any request to another host.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

GRAPHIQL_STATIC = "/static/graphiql"
# Inline styles: GraphiQL sets them on its panes; fonts and icons are data: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def static_dir() -> Path:
    return Path(str(files("lineage.api.http") / "static" / "graphiql"))


@cache
def _page() -> str:
    return (static_dir() / "index.html").read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    return HTMLResponse(_page(), headers={"Content-Security-Policy": CSP})


def graphiql_static() -> StaticFiles:
    return StaticFiles(directory=static_dir())
