"""The commands: ``lineage query``, ``lineage demo``, ``lineage serve``'s bind rule and
``lineage api export-schema``."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from lineage.examples.demo import STATE_KEY, record_examples
from lineage.store.connect import open_sqlite
from tests.api.conftest import BOOK, wait_healthy
from tests.api.world import World, model_of
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return env


def test_query_prints_data_and_errors_and_exits_by_them(world: World) -> None:
    runner = CliRunner()
    env = {"LINEAGE_HOME": str(world.home)}
    ok = runner.invoke(
        app,
        [
            "query",
            "query R($run: ID!) { run(id: $run) { id namespace } }",
            "--var",
            f"run={world.run_of('training')}",
        ],
        env=env,
    )
    assert ok.exit_code == 0, ok.output
    body = json.loads(ok.stdout)
    assert body == {
        "data": {"run": {"id": world.run_of("training"), "namespace": "local"}},
        "errors": None,
    }
    missing = runner.invoke(app, ["query", '{ run(id: "run:nope") { id } }'], env=env)
    assert missing.exit_code == 1
    assert [e["extensions"]["code"] for e in json.loads(missing.stdout)["errors"]] == ["NOT_FOUND"]


def test_query_writes_the_audit_line_the_server_writes(world: World, tmp_path: Path) -> None:
    log = tmp_path / "audit" / "audit.jsonl"
    env = {"LINEAGE_HOME": str(world.home), "LINEAGE_API__AUDIT_LOG": str(log)}
    runner = CliRunner()
    ok = runner.invoke(
        app,
        ["query", "query Mine($run: ID!) { run(id: $run) { id } }", "--var", "run=run:x"],
        env=env,
    )
    assert ok.exit_code == 1, ok.output  # run:x does not exist: audited all the same
    who = runner.invoke(app, ["query", "{ whoami { subject } }", "--operation", "Me"], env=env)
    assert who.exit_code == 1  # no operation of that name in the document
    named = runner.invoke(app, ["query", "query Me { whoami { subject via } }"], env=env)
    assert named.exit_code == 0, named.output
    user = f"local:{getpass.getuser()}"
    assert json.loads(named.stdout)["data"]["whoami"] == {"subject": user, "via": "local"}
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(lines) == 3
    mine, unnamed, me = lines
    assert mine["identity"] == {"subject": user, "via": "local", "auditor": True, "namespaces": []}
    assert mine["operation"] == "Mine" and mine["variables"] == {"run": "run:x"}
    assert mine["errors"] == ["NOT_FOUND"] and mine["client"] == "cli"
    assert (
        mine["document_sha256"]
        == hashlib.sha256(b"query Mine($run: ID!) { run(id: $run) { id } }").hexdigest()
    )
    assert unnamed["operation"] == "Me" and unnamed["errors"] == ["BAD_REQUEST"]
    assert me["operation"] == "Me" and me["variables"] == {} and me["errors"] == []


def test_query_without_an_audit_log_setting_appends_in_lineage_home(tmp_path: Path) -> None:
    home = tmp_path / "home"  # an empty store of its own: the answer does not matter here
    result = CliRunner().invoke(
        app, ["query", "query Count { runs { nodes { id } } }"], env={"LINEAGE_HOME": str(home)}
    )
    assert result.exit_code == 0, result.output
    (line,) = (home / "audit.jsonl").read_text().splitlines()
    assert json.loads(line)["operation"] == "Count"


def test_query_refuses_to_run_unaudited(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(
        app,
        ["query", "{ whoami { subject } }"],
        env={"LINEAGE_HOME": str(world.home), "LINEAGE_API__AUDIT_LOG": str(blocker / "x")},
    )
    assert result.exit_code != 0 and "audit log" in result.output
    assert '"data"' not in result.stdout


def test_query_reads_a_book_file_with_typed_variables(world: World) -> None:
    result = CliRunner().invoke(
        app,
        [
            "query",
            f"@{BOOK / 'best_model.graphql'}",
            "--var",
            "pipeline=sweep",
            "--var",
            "metric=accuracy",
            "--var",
            "first=2",
        ],
        env={"LINEAGE_HOME": str(world.home)},
    )
    assert result.exit_code == 0, result.output
    models = json.loads(result.stdout)["data"]["bestModels"]["models"]
    assert [m["rank"] for m in models] == [1, 2]


def test_serve_refuses_other_hosts_without_auth(world: World) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--port", "1"], env={"LINEAGE_HOME": str(world.home)}
    )
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_export_schema_check_detects_drift(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["api", "export-schema", "--check"]).exit_code == 0
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")
    assert (
        runner.invoke(app, ["api", "export-schema", "--check", "--out", str(stale)]).exit_code == 1
    )
    assert runner.invoke(app, ["api", "export-schema", "--out", str(stale)]).exit_code == 0
    assert (
        runner.invoke(app, ["api", "export-schema", "--check", "--out", str(stale)]).exit_code == 0
    )


def test_recording_the_examples_again_records_nothing(world: World) -> None:
    store = open_sqlite(world.home / "mlmd.sqlite")
    try:
        before = store.counts()
        again = record_examples(store, world.home, open(os.devnull, "w"), lambda _m: None)  # noqa: SIM115
        assert again.recorded_now == 0 and again.runs == world.runs
        assert store.counts() == before
        assert store.get_state(STATE_KEY) == {"runs": world.runs}
    finally:
        store.close()


def test_demo_second_start_records_nothing_and_serves_its_examples(
    world: World, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("lineage")), "demo", "--port", str(port)],
            cwd=REPO,
            env=_env(world.home),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, log)
        text = log.read_text()
        assert "nothing to record" in text and "recording the example" not in text
        assert f"GraphiQL: http://127.0.0.1:{port}/graphql" in text
        queries = re.findall(r"^  (\{ .*\})$", text, re.MULTILINE)
        assert len(queries) == 3, text
        for query in queries:
            body = httpx.post(
                f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30
            ).json()
            assert "errors" not in body, (query, body)
        store = open_sqlite(world.home / "mlmd.sqlite")
        try:
            assert model_of(store, world.run_of("training")).id in queries[0]
        finally:
            store.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    from lineage.cli.serve import is_loopback

    assert is_loopback(host)
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")
