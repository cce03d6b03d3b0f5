"""Every CLI command, given bad input: a non-zero exit and one line naming it, no traceback.

The commands are read from the typer app, so a new command without a case here fails.
A read-only LINEAGE_HOME is a real read-only file system: a bind mount remounted
read-only in a mount namespace of its own (``unshare -m``), since root writes through
any permission bits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from lineage.cli.main import app
from tests.ingest.cli_forks import CliForks, Outcome

LINEAGE = [sys.executable, "-m", "lineage.cli"]


@dataclass(frozen=True)
class Case:
    args: list[str]
    names: str  # what the one error line must name; {d} is the scratch directory
    env: dict[str, str] = field(default_factory=dict)
    read_only_home: bool = False


def commands() -> list[str]:
    """Every leaf command of the app, as ``"ingest spec"``."""
    found: list[str] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        # Typer builds its commands on a click of its own: a group is what lists commands.
        if hasattr(command, "list_commands"):
            ctx = type(command).context_class(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))
        else:
            found.append(" ".join(path))

    walk(get_command(app), ())
    return found


NEO4J_DOWN = {"LINEAGE_NEO4J__URI": "bolt://127.0.0.1:1"}
BINARY_TOKENS = {"LINEAGE_API__TOKEN_FILE": "{d}/binary.dat"}

CASES: dict[str, list[Case]] = {
    "run": [Case(["run", "{d}/nope.py:pipe"], "{d}/nope.py")],
    "lineage": [Case(["lineage", "run:nope", "--backend", "mlmd"], "'run:nope'")],
    "impact": [
        Case(["impact", "--artifact", "artifact:nope", "--backend", "mlmd"], "'artifact:nope'")
    ],
    "diff": [Case(["diff", "run:x", "run:y", "--backend", "mlmd"], "'run:x'")],
    "path": [Case(["path", "artifact:a", "artifact:b", "--backend", "mlmd"], "'artifact:a'")],
    "serve": [
        Case(["serve", "--port", "0"], "{d}/binary.dat", BINARY_TOKENS),
        Case(["serve", "--host", "10.1.2.3"], "10.1.2.3"),
        Case(["serve", "--port", "0"], "{d}/home", read_only_home=True),
        Case(["serve", "--port", "0"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}),
    ],
    "query": [
        Case(["query", "@{d}/nope.graphql"], "{d}/nope.graphql"),
        Case(["query", "@{d}/binary.dat"], "{d}/binary.dat"),
    ],
    "demo": [
        Case(["demo", "--host", "10.1.2.3"], "10.1.2.3"),
        Case(["demo", "--port", "0"], "{d}/home", read_only_home=True),
        Case(["demo", "--port", "0"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}),
    ],
    "store info": [
        Case(["store", "info"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}),
        Case(["store", "info"], "{d}/home", read_only_home=True),
    ],
    "ingest kfp": [
        Case(
            ["ingest", "kfp", "--endpoint", "http://127.0.0.1:1", "--token-file", "{d}/binary.dat"],
            "{d}/binary.dat",
        ),
    ],
    "ingest mlmd": [
        Case(["ingest", "mlmd", "--sqlite", "{d}/nope.sqlite"], "{d}/nope.sqlite"),
        Case(["ingest", "mlmd", "--sqlite", "{d}/binary.dat"], "{d}/binary.dat"),
    ],
    "ingest pods": [Case(["ingest", "pods", "--kubeconfig", "{d}/nope"], "{d}/nope")],
    "ingest spec": [
        Case(["ingest", "spec", "{d}/truncated.yaml"], "{d}/truncated.yaml"),
        Case(["ingest", "spec", "{d}/binary.dat"], "{d}/binary.dat"),
    ],
    "ingest volumesnapshots": [
        Case(["ingest", "volumesnapshots", "--kubeconfig", "{d}/binary.dat"], "{d}/binary.dat")
    ],
    "images resolve": [Case(["images", "resolve", "not a ref!!"], "'not a ref!!'")],
    "snapshot create": [
        Case(["snapshot", "create", "{d}/nope", "--name", "n"], "{d}/nope"),
        Case(["snapshot", "create", "{d}/data", "--name", "n"], "{d}/home", read_only_home=True),
    ],
    "snapshot verify": [
        Case(["snapshot", "verify", "snapshot:sha256:nope", "{d}/data"], "snapshot:sha256:nope")
    ],
    "snapshot restore": [
        Case(["snapshot", "restore", "snapshot:sha256:00", "{d}/out"], "snapshot:sha256:00")
    ],
    "snapshot ls": [
        Case(["snapshot", "ls", "--store", "nosuch://b/x"], "nosuch://b/x"),
        Case(["snapshot", "ls", "--store", "{d}/binary.dat"], "{d}/binary.dat"),
    ],
    "graph sync": [Case(["graph", "sync"], "bolt://127.0.0.1:1", NEO4J_DOWN)],
    "graph verify": [Case(["graph", "verify"], "bolt://127.0.0.1:1", NEO4J_DOWN)],
    "rebuild plan": [
        Case(["rebuild", "plan", "artifact:nope", "--backend", "mlmd"], "'artifact:nope'"),
        Case(["rebuild", "plan", "artifact:nope", "--tolerance", "acc"], "'acc'"),
        Case(["rebuild", "plan", "a"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}),
    ],
    "rebuild check": [
        Case(["rebuild", "check", "artifact:nope", "--backend", "mlmd"], "'artifact:nope'"),
        Case(["rebuild", "check", "artifact:nope", "--env", "nowhere"], "'nowhere'"),
    ],
    "rebuild run": [
        Case(["rebuild", "run", "{d}/nope.json", "--env", "b"], "{d}/nope.json"),
        Case(["rebuild", "run", "{d}/binary.dat", "--env", "b"], "{d}/binary.dat"),
        Case(["rebuild", "run", "{d}/truncated.yaml", "--env", "b"], "{d}/truncated.yaml"),
    ],
    "rebuild ls": [
        Case(["rebuild", "ls"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}),
    ],
    "rebuild verify": [
        Case(["rebuild", "verify", "rebuild:nope"], "rebuild:nope"),
        Case(
            ["rebuild", "verify", "x"], "{d}/corrupt/mlmd.sqlite", {"LINEAGE_HOME": "{d}/corrupt"}
        ),
    ],
    "api export-schema": [Case(["api", "export-schema", "--out", "{d}"], "{d}")],
}


def test_every_command_has_bad_input_cases() -> None:
    assert sorted(CASES) == sorted(commands())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    (d / "binary.dat").write_bytes(b"\x89\xf1\xfe\x00binary" * 20)
    (d / "truncated.yaml").write_text("pipelineInfo: {name: x\n")
    (d / "data").mkdir()
    (d / "data" / "a.txt").write_text("a\n")
    (d / "corrupt").mkdir()
    (d / "corrupt" / "mlmd.sqlite").write_bytes(b"not a database at all" * 50)
    return d


@pytest.fixture(scope="module")
def forks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliForks]:
    server = CliForks(tmp_path_factory.mktemp("logs"))
    try:
        yield server
    finally:
        server.close()


def _read_only(args: list[str], home: Path) -> Outcome:
    """``lineage ARGS`` with LINEAGE_HOME on a read-only file system."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    wrap = [shutil.which("unshare") or "unshare", "-m", "sh", "-c", remount, str(home)]
    if os.geteuid() != 0:
        home.chmod(0o555)  # permission bits bind a user who is not root
        wrap = []
    out = subprocess.run(
        [*wrap, *LINEAGE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    return Outcome(out.returncode, 0.0, out.stdout, out.stderr)


ALL = [(name, i) for name, cases in CASES.items() for i in range(len(cases))]


@pytest.mark.parametrize(("command", "index"), ALL, ids=[f"{c}-{i}" for c, i in ALL])
def test_bad_input_gives_one_line_naming_it_and_a_non_zero_exit(
    command: str, index: int, scratch: Path, forks: CliForks, tmp_path: Path
) -> None:
    case = CASES[command][index]
    args = [a.replace("{d}", str(scratch)) for a in case.args]
    env = {k: v.replace("{d}", str(scratch)) for k, v in case.env.items()}
    home = Path(env.pop("LINEAGE_HOME", str(tmp_path / "home")))
    names = case.names.replace("{d}", str(scratch))
    if case.read_only_home:
        out = _read_only(args, tmp_path / "home")
        names = case.names.replace("{d}", str(tmp_path))
    else:
        out = forks.run(args, home, env=env)
    assert out.code not in (0, -9), out.log
    assert "Traceback" not in out.log
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    assert names in errors[0], errors[0]
