"""``lineage serve`` and ``lineage demo`` bind their port before they print its URL: a busy
port is one line that names it and the option to choose another, and a non-zero exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lineage.cli.main import app
from tests.services import free_port

LINEAGE = str(Path(sys.executable).with_name("lineage"))


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield int(other.getsockname()[1])


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_a_busy_port_is_one_line_naming_it(tmp_path: Path, busy_port: int, command: str) -> None:
    result = CliRunner().invoke(
        app, [command, "--port", str(busy_port)], env={"LINEAGE_HOME": str(tmp_path / "home")}
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "GraphiQL" not in result.output and "http://" not in result.output, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip()]
    assert f"port {busy_port}" in line and "--port" in line, line
    # Nothing was recorded before the port was found busy.
    assert not (tmp_path / "home" / "demo").exists()


def test_the_url_is_printed_once_the_port_is_bound(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(tmp_path / "home")
    process = subprocess.Popen(
        [LINEAGE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/graphql" in first, first
        # The moment the URL is printed, the port accepts connections.
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(60)
