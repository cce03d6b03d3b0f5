"""GraphiQL works with no network: a real browser (Debian's chromium, headless, driven by
Playwright) loads it from a live ``lineage serve``, sends the bearer token from the
header editor, runs a query and shows the answer. Any request to another host fails
the test; the build checked in under lineage/api/http/static/graphiql matches its lock file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import wait_healthy
from tests.api.world import World
from tests.conftest import unavailable
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web" / "graphiql"
BUILT = REPO / "lineage" / "api" / "http" / "static" / "graphiql"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "tok-graphiql"


@pytest.fixture
def served(world: World, tmp_path: Path) -> Iterator[str]:
    """``lineage serve`` over the recorded world, asking for a bearer token."""
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"tokens:\n  - {{subject: auditor, token: {TOKEN}, auditor: true}}\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env |= {"LINEAGE_HOME": str(world.home), "LINEAGE_API__TOKEN_FILE": str(tokens)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("lineage")), "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _set_editor(page: object, selector: str, text: str) -> None:
    """Sets a GraphiQL CodeMirror editor's text, as typing into it would."""
    page.evaluate(  # type: ignore[attr-defined]
        "([sel, text]) => document.querySelector(sel).CodeMirror.setValue(text)",
        [selector, text],
    )


def test_graphiql_renders_and_runs_a_query_with_no_network(
    served: str, world: World, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        unavailable("chromium", f"{CHROMIUM} is missing (scripts/install-services installs it)")
    from playwright.sync_api import Route, sync_playwright
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    origin = urlsplit(served).netloc
    foreign: list[str] = []

    def only_the_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort("internetdisconnected")

    run = world.run_of("training")
    query = f'{{ whoami {{ subject }} run(id: "{run}") {{ id namespace }} }}'
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        try:
            browser.route("**/*", only_the_server)
            page = browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{served}/graphql", wait_until="load")
            try:
                page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=60_000)
            except PlaywrightTimeout:
                pytest.fail(f"GraphiQL never rendered; it asked other hosts for {foreign}")
            page.get_by_role("button", name="Headers").click()
            headers = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
            page.wait_for_selector(headers, timeout=10_000)
            _set_editor(page, headers, json.dumps({"Authorization": f"Bearer {TOKEN}"}))
            _set_editor(page, ".graphiql-query-editor .CodeMirror", query)
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "(run) => (document.querySelector('.graphiql-response .CodeMirror')"
                "?.CodeMirror.getValue() ?? '').includes(run)",
                arg=run,
                timeout=60_000,
            )
            shown = page.evaluate(
                "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
            )
        finally:
            browser.close()
    answer = json.loads(shown)
    assert answer["data"] == {
        "whoami": {"subject": "auditor"},
        "run": {"id": run, "namespace": "local"},
    }, shown
    assert foreign == [], foreign
    assert failed == [], failed
    assert errors == [], errors


def test_the_page_names_no_other_host_and_forbids_one(served: str) -> None:
    import httpx

    page = httpx.get(f"{served}/graphql", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    for name in ("graphiql.js", "graphiql.css"):
        asset = httpx.get(f"{served}/static/graphiql/{name}", timeout=30)
        assert asset.status_code == 200 and asset.content == (BUILT / name).read_bytes()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_checked_in_build_agrees_with_the_lock_file() -> None:
    """Without the network: the manifest written by the build names the lock file's
    versions and the hashes of the files checked in next to it."""
    manifest = json.loads((BUILT / "manifest.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    package = json.loads((WEB / "package.json").read_text())
    assert (
        manifest["dependencies"] == package["dependencies"] == lock["packages"][""]["dependencies"]
    )
    for name, version in package["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    for path, version in manifest["packages"].items():
        assert lock["packages"][f"node_modules/{path}"]["version"] == version, path
    files = {p.name for p in BUILT.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    for name, digest in manifest["files"].items():
        assert _sha256(BUILT / name) == digest, name


def test_the_build_script_reproduces_the_checked_in_build(tmp_path: Path) -> None:
    """From the registry only: npm ci of the lock file and the bundler give these bytes."""
    if shutil.which("npm") is None:
        unavailable("npm", "npm is missing (apt-get install npm)")
    source = tmp_path / "web"
    shutil.copytree(WEB, source, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "built"
    env = {**os.environ, "LINEAGE_GRAPHIQL_SRC": str(source)}
    done = subprocess.run(
        [str(REPO / "scripts" / "build-graphiql"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rebuilt = {p.name: _sha256(p) for p in out.iterdir()}
    checked_in = {p.name: _sha256(p) for p in BUILT.iterdir()}
    assert rebuilt == checked_in


def test_the_package_ships_the_build() -> None:
    """Every built file is package data, so an installed wheel serves GraphiQL too."""
    import fnmatch
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["lineage"]
    package = REPO / "lineage"
    for path in BUILT.iterdir():
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), relative
