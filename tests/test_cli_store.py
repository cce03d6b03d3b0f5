"""The CLI's first face: version, store info, and the bad inputs of the foundation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

LINEAGE = [sys.executable, "-m", "lineage.cli"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    return subprocess.run(
        [*LINEAGE, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    out = run(["--version"], {})
    assert out.returncode == 0
    assert out.stdout.strip() == f"lineage {version('kfp-lineage')}"


def test_store_info_creates_the_embedded_store_under_lineage_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    out = run(["store", "info", "--json"], {"LINEAGE_HOME": str(home)})
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["backend"] == "sqlite"
    assert info["location"] == str(home / "mlmd.sqlite")
    assert (home / "mlmd.sqlite").is_file()
    assert (info["contexts"], info["executions"], info["artifacts"], info["events"]) == (0, 0, 0, 0)


def test_store_info_counts_what_was_written(tmp_path: Path) -> None:
    from lineage.store.connect import open_sqlite
    from tests.kit.records import training_run

    store = open_sqlite(tmp_path / "mlmd.sqlite")
    store.put_run(training_run())
    store.close()
    out = run(["store", "info", "--json"], {"LINEAGE_HOME": str(tmp_path)})
    info = json.loads(out.stdout)
    assert (info["contexts"], info["executions"], info["artifacts"], info["events"]) == (2, 3, 3, 4)
    assert info["by_type"]["system.Model"] == 1
    table = run(["store", "info"], {"LINEAGE_HOME": str(tmp_path)})
    assert "system.Model" in table.stdout


def test_a_corrupt_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "mlmd.sqlite"
    garbage = b"this was never a database" * 100
    path.write_bytes(garbage)
    out = run(["store", "info"], {"LINEAGE_HOME": str(tmp_path)})
    assert out.returncode == 3
    assert str(path) in out.stderr
    assert "Traceback" not in out.stderr
    assert path.read_bytes() == garbage


def test_a_truncated_sqlite_database_is_refused(tmp_path: Path) -> None:
    from lineage.store.connect import open_sqlite
    from tests.kit.records import training_run

    path = tmp_path / "mlmd.sqlite"
    store = open_sqlite(path)
    store.put_run(training_run())
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    out = run(["store", "info"], {"LINEAGE_HOME": str(tmp_path)})
    assert out.returncode == 3
    assert "corrupt" in out.stderr


def test_an_unusable_lineage_home_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    out = run(["store", "info"], {"LINEAGE_HOME": str(blocker / "home")})
    assert out.returncode == 2
    assert str(blocker / "home") in out.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://u:p@127.0.0.1/db", "mysql://"),
        ("mysql://u:p@127.0.0.1", "names a host and a database"),
        ("mysql://u:secret@127.0.0.1:1/db", "cannot connect"),
    ],
)
def test_a_wrong_mysql_url_is_a_config_error(url: str, message: str) -> None:
    out = run(["store", "info"], {"LINEAGE_STORE__TYPE": "mysql", "LINEAGE_STORE__URL": url})
    assert out.returncode == 2
    assert message in out.stderr
    assert "secret" not in out.stderr


@pytest.mark.services
def test_a_wrong_mysql_password_names_the_server(mysql_url: str) -> None:
    server = urlsplit(mysql_url)
    url = f"mysql://nobody:Pw-9f3k@{server.hostname}:{server.port}{server.path}"
    out = run(["store", "info"], {"LINEAGE_STORE__TYPE": "mysql", "LINEAGE_STORE__URL": url})
    assert out.returncode == 2
    assert f"nobody@{server.hostname}:{server.port}" in out.stderr
    assert "Pw-9f3k" not in out.stderr


@pytest.mark.services
def test_store_info_on_mariadb(mysql_url: str) -> None:
    out = run(
        ["store", "info", "--json"],
        {"LINEAGE_STORE__TYPE": "mysql", "LINEAGE_STORE__URL": mysql_url},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["backend"] == "mysql"


def test_a_grpc_address_with_nothing_listening_fails_fast() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago, and nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = run(
        ["store", "info"],
        {
            "LINEAGE_STORE__TYPE": "grpc",
            "LINEAGE_STORE__ADDRESS": f"127.0.0.1:{port}",
            "LINEAGE_STORE__TIMEOUT_S": "3",
        },
    )
    assert out.returncode == 7
    assert f"127.0.0.1:{port}" in out.stderr


def test_store_info_over_grpc(tmp_path: Path) -> None:
    from tests.services.mlmd_grpc import MlmdGrpcServer

    server = MlmdGrpcServer(tmp_path / "served.sqlite")
    address = server.start()
    try:
        out = run(
            ["store", "info", "--json"],
            {"LINEAGE_STORE__TYPE": "grpc", "LINEAGE_STORE__ADDRESS": address},
        )
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["location"] == address


def test_import_graphql_resolves_to_graphql_core() -> None:
    repo = Path(__file__).resolve().parents[1]
    assert not (repo / "graphql" / "__init__.py").exists()
    out = subprocess.run(
        [sys.executable, "-c", "import graphql, sys; print(graphql.__file__, graphql.version)"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    path, version = out.stdout.split()
    assert "site-packages" in path
    assert version.startswith("3.")
