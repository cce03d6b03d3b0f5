"""A page of impact answered by the reader itself, for readers that can do it faster.

The generic impact lists every model and run downstream, then pages the sorted
ids in Python. A reader that can page (and count) on its side implements
``PagedReach``; ``lineage.query.impact`` uses it when present and falls back to
``LineageReader.reach`` when it answers None. Both must give the same page,
the same totals and the same cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from lineage.model import LineageNode


@dataclass(frozen=True, slots=True)
class ReachPage:
    """Model and run ids after the cursors, sorted, at most ``first`` of each.

    ``more_*`` says more follow this page. The totals count everything
    downstream; they are None when the caller did not ask for them.
    """

    models: tuple[str, ...]
    runs: tuple[str, ...]
    more_models: bool
    more_runs: bool
    total_models: int | None = None
    total_runs: int | None = None
    truncated: bool = False
    # The page's nodes when the reader read them along (saves a round trip), else None.
    nodes: dict[str, LineageNode] | None = None


@runtime_checkable
class PagedReach(Protocol):
    def reach_page(
        self,
        starts: Sequence[str],
        after_model: str | None,
        after_run: str | None,
        first: int,
        count: bool,
        budget: int,
        *,
        count_runs: bool = True,
    ) -> ReachPage | None:
        """This page (and, with ``count``, the totals; the run total only with
        ``count_runs``, else None), or None to use the generic walk."""
        ...
