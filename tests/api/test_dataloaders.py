"""DataLoaders: a nested query costs a few batched store calls, not one per object.

The store is wrapped in a counting proxy (a wrapper of the real store, not a mock):
every call goes through to MLMD and is counted by method.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lineage.api.context import Shared
from lineage.api.guards.auth import LOCAL
from lineage.api.http.execute import execute
from lineage.api.schema import build_schema
from lineage.store.mlmd import MlmdStore

NESTED = """
query Nested($first: Int!) {
  runs(first: $first) {
    nodes {
      id
      state
      pipeline { name }
      tasks {
        id
        image { digest }
        inputs { id producer { id name } consumers { id } }
        outputs { id createdAt consumers { id run { id } } }
      }
    }
  }
}
"""


class CountingStore:
    def __init__(self, inner: MlmdStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kwargs)

        wrapped: Callable[..., Any] = counted
        return wrapped


def _run(shared: Shared, first: int) -> tuple[Counter[str], dict[str, Any]]:
    counting = CountingStore(shared.store)  # type: ignore[arg-type]
    proxied = replace(shared, store=counting)
    outcome = asyncio.run(execute(build_schema(), proxied, LOCAL, NESTED, {"first": first}))
    assert outcome.ok, outcome.body
    return counting.calls, outcome.body["data"]


def _objects(data: dict[str, Any]) -> int:
    tasks = [t for r in data["runs"]["nodes"] for t in r["tasks"]]
    artifacts = [a for t in tasks for a in t["inputs"] + t["outputs"]]
    return len(tasks) + len(artifacts)


def test_a_nested_query_makes_a_bounded_number_of_store_calls(shared: Shared) -> None:
    one, small = _run(shared, 1)
    six, large = _run(shared, 6)
    assert _objects(large) > 3 * _objects(small) > 0
    # Each run is read once however many of its tasks and artifacts are resolved...
    assert six["get_run"] == len(large["runs"]["nodes"]) == 6
    # ...and every other read is batched: the count does not grow with the objects.
    others_one = sum(n for name, n in one.items() if name != "get_run")
    others_six = sum(n for name, n in six.items() if name != "get_run")
    assert others_six <= others_one + 2, (one, six)
    assert others_six <= 12, six
