"""``runs(state:)``: pages hold ``first`` runs whenever that many match, and paging through
gives every matching run once, over a store of many runs of mixed states.

Most runs carry no recorded state, so each one's state is derived from its tasks;
a few carry KFP's recorded state, which wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from lineage import model
from lineage.api.config import ApiSettings
from lineage.api.context import Blocking, Shared
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.model import Context, Execution, ExecutionState, KfpType, RunRecord
from lineage.settings import Settings
from lineage.store.connect import open_sqlite
from tests.api.conftest import gql

R = TypeVar("R")

# Cycled over the runs: a task state (derived) or, with "recorded:", KFP's own run state.
PATTERN = (
    "FAILED",
    "COMPLETE",
    "RUNNING",
    "recorded:FAILED",
    "COMPLETE",
    "CACHED",
    "NEW",
    "recorded:SUCCEEDED",
)
RUNS = 96  # 24 of them FAILED
PAGE = 5
QUERY = (
    "query F($first: Int!, $after: String) { runs(state: FAILED, first: $first, after: $after) "
    "{ nodes { id state } pageInfo { hasNextPage endCursor } } }"
)


def _record(i: int) -> RunRecord:
    name = f"mixed-{i:03d}"
    pipeline = Context(id=model.pipeline_id("mixed"), type=KfpType.PIPELINE, name="mixed")
    kind = PATTERN[i % len(PATTERN)]
    properties: dict[str, Any] = {"namespace": "local", "display_name": name}
    executions: tuple[Execution, ...] = ()
    if kind.startswith("recorded:"):
        properties["state"] = kind.removeprefix("recorded:")
    else:
        executions = tuple(
            Execution(
                id=model.task_id(name, task),
                type=KfpType.CONTAINER_EXECUTION,
                state=state,
                properties={"display_name": task, "task_name": task},
            )
            for task, state in (
                ("prepare", ExecutionState.COMPLETE),
                ("train", ExecutionState(kind)),
            )
        )
    run = Context(
        id=model.run_id(name),
        type=KfpType.PIPELINE_RUN,
        name=name,
        properties=properties,
        parents=(pipeline.id,),
    )
    return RunRecord(contexts=(pipeline, run), executions=executions)


def _failed() -> set[str]:
    return {
        model.run_id(f"mixed-{i:03d}")
        for i in range(RUNS)
        if PATTERN[i % len(PATTERN)] in ("FAILED", "recorded:FAILED")
    }


class CountingBlocking(Blocking):
    """A real worker pool that counts the blocking calls handed to it."""

    def __init__(self, capacity: int = 1) -> None:
        super().__init__(capacity)
        self.calls = 0

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        self.calls += 1
        return await super().run(fn, *args)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("mixed-states")
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        for i in range(RUNS):
            store.put_run(_record(i))
    finally:
        store.close()
    return home


def _client(home: Path, max_scan: int) -> Iterator[tuple[TestClient, Shared]]:
    settings = Settings(home=home)
    api = ApiSettings(max_scan=max_scan)
    with open_shared(settings, api) as opened:
        counting = replace(opened, blocking=CountingBlocking(opened.blocking.capacity))
        try:
            with TestClient(create_app(settings, api, shared=counting, audit=False)) as client:
                yield client, counting
        finally:
            counting.blocking.close()


@pytest.fixture(scope="module")
def roomy(home: Path) -> Iterator[tuple[TestClient, Shared]]:
    # A scan limit above the store's size but low enough that one run read per run
    # within a shrunken budget (the limit / 25) could not fill a page.
    yield from _client(home, max_scan=RUNS + 10)


@pytest.fixture(scope="module")
def tight(home: Path) -> Iterator[tuple[TestClient, Shared]]:
    yield from _client(home, max_scan=7)


def _pages(client: TestClient, first: int) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        answer = gql(client, QUERY, {"first": first, "after": after})
        assert not answer.get("errors"), answer.get("errors")
        page = answer["data"]["runs"]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) <= RUNS, "paging does not end"


def test_state_pages_are_full_and_give_every_failed_run_once(
    roomy: tuple[TestClient, Shared],
) -> None:
    client, _ = roomy
    failed = _failed()
    pages = _pages(client, PAGE)
    sizes = [len(p["nodes"]) for p in pages]
    assert sizes == [PAGE] * (len(failed) // PAGE) + [len(failed) % PAGE], sizes
    seen = [n["id"] for p in pages for n in p["nodes"]]
    assert len(seen) == len(set(seen)) and set(seen) == failed
    assert {n["state"] for p in pages for n in p["nodes"]} == {"FAILED"}
    every = gql(
        client,
        "query A($n: Int!) { runs(state: FAILED, first: $n) { nodes { id } } }",
        {"n": len(failed)},
    )["data"]["runs"]["nodes"]
    assert {n["id"] for n in every} == failed


def test_states_are_derived_in_batches_not_run_by_run(roomy: tuple[TestClient, Shared]) -> None:
    client, shared = roomy
    assert isinstance(shared.blocking, CountingBlocking)
    before = shared.blocking.calls
    answer = gql(client, QUERY, {"first": 20, "after": None})
    assert len(answer["data"]["runs"]["nodes"]) == 20
    # A store page, the visibility-free filter, then one batch of run reads per store
    # page: a handful of worker calls for ~80 runs scanned, not one per run.
    assert shared.blocking.calls - before <= 6, shared.blocking.calls - before


def test_a_page_that_reaches_the_scan_limit_may_end_short(
    tight: tuple[TestClient, Shared],
) -> None:
    """The documented contract: a short page says hasNextPage, and paging on finds the rest."""
    client, _ = tight
    pages = _pages(client, PAGE)
    assert any(len(p["nodes"]) < PAGE and p["pageInfo"]["hasNextPage"] for p in pages)
    seen = [n["id"] for p in pages for n in p["nodes"]]
    assert len(seen) == len(set(seen)) and set(seen) == _failed()
