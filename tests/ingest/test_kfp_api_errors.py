"""``ingest kfp`` against a server that fails: clear errors naming the endpoint path.

The server is the local replay of recorded v2beta1 responses (tests/services/kfp_api_replay.py) on
127.0.0.1, with faults queued in front of the recordings; no KFP cluster runs here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineage.errors import BadInputError, ConfigError, UnavailableError
from tests.ingest.mlmd_helpers import fast_tmp, invoke, lineage_cli
from tests.services.kfp_api_replay import MLMD_ERA, ReplayServer

__all__ = ["fast_tmp"]


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = ReplayServer.of("mlmd_era", MLMD_ERA).start()
    yield server
    server.stop()


def test_a_server_that_keeps_answering_500_is_an_unavailable_error(
    replay: ReplayServer, fast_tmp: Path
) -> None:
    replay.fail("runs", 500, b'{"error":"internal","code":13}', times=10)
    out = invoke(["ingest", "kfp", "--endpoint", replay.url, "--retries", "1"], fast_tmp)
    assert out.returncode == UnavailableError.exit_code
    assert f"{replay.url}/apis/v2beta1/runs answered 500" in out.stderr
    assert "after 2 attempts" in out.stderr
    assert len(replay.hits("runs")) == 2


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html><body>upstream connect error</body></html>", "garbage, not JSON"),
        (b'{"experiments": [', "garbage, not JSON"),
        (b"[1, 2, 3]", "a JSON list, expected an object"),
        (b'{"experiments": {"oops": 1}}', "'experiments' is not a list of objects"),
    ],
)
def test_garbage_is_a_bad_input_error_naming_the_path(
    replay: ReplayServer, fast_tmp: Path, body: bytes, says: str
) -> None:
    replay.fail("experiments", 200, body)
    out = invoke(["ingest", "kfp", "--endpoint", replay.url], fast_tmp)
    assert out.returncode == BadInputError.exit_code
    assert "/apis/v2beta1/experiments" in out.stderr
    assert says in out.stderr
    assert "Traceback" not in out.stderr


def test_a_token_is_sent_and_a_refusal_says_so(fast_tmp: Path) -> None:
    server = ReplayServer.of("mlmd_era", MLMD_ERA, token="s3cret").start()
    try:
        token_file = fast_tmp / "token"
        token_file.write_text("s3cret\n")
        ok = invoke(
            ["ingest", "kfp", "--endpoint", server.url, "--token-file", str(token_file)],
            fast_tmp / "a",
        )
        assert ok.returncode == 0, ok.stderr
        assert {r.headers.get("Authorization") for r in server.requests} == {"Bearer s3cret"}
        denied = invoke(["ingest", "kfp", "--endpoint", server.url, "--token", "nope"], fast_tmp)
        assert denied.returncode == ConfigError.exit_code
        assert "refused access (401)" in denied.stderr
        both = invoke(
            ["ingest", "kfp", "--endpoint", server.url, "--token", "x", "--token-file", "y"],
            fast_tmp,
        )
        assert both.returncode == ConfigError.exit_code and "not both" in both.stderr
    finally:
        server.stop()


def test_a_bad_endpoint_is_a_config_error(fast_tmp: Path) -> None:
    out = invoke(["ingest", "kfp", "--endpoint", "ml-pipeline:8888"], fast_tmp)
    assert out.returncode == ConfigError.exit_code and "http(s) URL" in out.stderr


def test_the_command_prints_its_report_as_json(replay: ReplayServer, fast_tmp: Path) -> None:
    out = lineage_cli(["ingest", "kfp", "--endpoint", replay.url, "--json"], fast_tmp)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["source"] == f"kfp {replay.url}"
    assert (report["read"], report["written"], report["failed"]) == (7, 7, 0)


def test_no_server_at_the_endpoint_is_an_unavailable_error(fast_tmp: Path) -> None:
    from tests.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    out = invoke(["ingest", "kfp", "--endpoint", url, "--retries", "0"], fast_tmp)
    assert out.returncode == UnavailableError.exit_code
    assert f"{url}/apis/v2beta1/experiments did not answer" in out.stderr


def test_a_redirect_to_a_login_page_says_what_to_do(replay: ReplayServer, fast_tmp: Path) -> None:
    replay.fail("experiments", 302, b"")
    out = invoke(["ingest", "kfp", "--endpoint", replay.url], fast_tmp)
    assert out.returncode == ConfigError.exit_code
    assert "redirected" in out.stderr and "--token" in out.stderr
