"""The time of a NOT_FOUND does not tell a hidden id from an unknown one.

For ``snapshot``, ``artifact``, ``run``, ``task`` and ``node``, a team-b token asks
for an id of the ``local`` namespace and for an id that exists nowhere, a few
hundred times, interleaved in a random order. The two latency distributions must
not separate: a rank test (the probability that a hidden lookup is slower than an
unknown one, Mann-Whitney's U over n*m) must stay near one half. Before the
unknown path paid the hidden path's visibility check, ``snapshot`` gave about 1.0.

The test runs in-process (FastAPI's TestClient) and measures the CPU time the
server process spends on each request (every thread of it: the event loop, the
store's worker threads, MLMD's SQLite). On an idle server that is what a client
waits; unlike the wall clock it does not swing with other processes' load on a
shared machine, so the test neither flakes nor hides a difference under load.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.context import Shared
from lineage.api.http.app import create_app
from lineage.settings import Settings
from lineage.store.mlmd import MlmdStore
from tests.api.conftest import codes, gql
from tests.api.test_cursors import _token_file
from tests.api.world import World, model_of

ROUNDS = 150  # pairs per field: 300 requests
# A clear separation: a hidden lookup slower than an unknown one in more than 80% (or
# fewer than 20%) of the pairs. Equal work gives about 50%; the old snapshot path ~100%.
SEPARATED = 0.8


@pytest.fixture(scope="module")
def timed(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, shared: Shared
) -> Iterator[TestClient]:
    base: Path = tmp_path_factory.mktemp("timing")
    api = ApiSettings(token_file=_token_file(base / "tokens.yaml"))
    with TestClient(create_app(settings, api, shared=shared, audit=False)) as client:
        yield client


def _hidden_and_unknown(store: MlmdStore, world: World) -> dict[str, tuple[str, str, str]]:
    training = world.run_of("training")
    task = next(e.id for e in store.get_run(training).executions if e.id.endswith("train-model"))
    return {
        "snapshot": (
            "snapshot",
            world.model_snapshot,
            "snapshot:sha256:" + "0" * 64,
        ),
        "artifact": ("artifact", model_of(store, training).id, "artifact:gs://no-such/model"),
        "run": ("run", training, "run:no-such-run"),
        "task": ("task", task, "task:no-such-run/train-model"),
        "node": ("node", world.model_snapshot, "snapshot:sha256:" + "1" * 64),
    }


def _rank_statistic(slow: list[float], fast: list[float]) -> float:
    """P(a value of ``slow`` exceeds one of ``fast``), ties counted half: U / (n * m)."""
    merged = sorted([(v, 0) for v in slow] + [(v, 1) for v in fast])
    ranks: dict[int, list[float]] = {0: [], 1: []}
    i = 0
    while i < len(merged):
        j = i
        while j < len(merged) and merged[j][0] == merged[i][0]:
            j += 1
        for k in range(i, j):
            ranks[merged[k][1]].append((i + j + 1) / 2)  # average rank of a tie
        i = j
    n = len(slow)
    u = sum(ranks[0]) - n * (n + 1) / 2
    return u / (n * len(fast))


def _time(client: TestClient, field: str, node_id: str) -> float:
    query = f"query Q($id: ID!) {{ {field}(id: $id) {{ id }} }}"
    start = time.process_time()
    answer = gql(client, query, {"id": node_id}, token="tok-b")
    took = time.process_time() - start
    assert codes(answer) == ["NOT_FOUND"], answer
    return took


@pytest.mark.parametrize("case", ["snapshot", "artifact", "run", "task", "node"])
def test_hidden_and_unknown_ids_take_the_same_time(
    timed: TestClient, store: MlmdStore, world: World, case: str
) -> None:
    field, hidden, unknown = _hidden_and_unknown(store, world)[case]
    for _ in range(10):  # warm both paths (first-use caches, imports)
        _time(timed, field, hidden)
        _time(timed, field, unknown)
    rng = random.Random(17)
    times: dict[str, list[float]] = {hidden: [], unknown: []}
    for _ in range(ROUNDS):
        pair = [hidden, unknown]
        rng.shuffle(pair)
        for node_id in pair:
            times[node_id].append(_time(timed, field, node_id))
    p = _rank_statistic(times[hidden], times[unknown])
    medians = {k: sorted(v)[len(v) // 2] * 1000 for k, v in times.items()}
    detail = f"P(hidden slower)={p:.2f}, medians CPU ms hidden={medians[hidden]:.2f} unknown={medians[unknown]:.2f}"  # noqa: E501
    print(f"{case}: {detail}")
    assert 1 - SEPARATED < p < SEPARATED, detail
