"""Impact pages for a namespace token, from the pages of the unscoped reader.

The generic walk (``ScopedReader.reach``) lists everything downstream, keeps what
the token sees and pages that. Here the inner reader's pages are read in id order
instead, hidden ids dropped, and more pages asked for until the scoped page holds
``first + 1`` visible ids (one more than the page, to know whether more follow)
or the inner pages end. Cursors stay exact: each list resumes right after the
last id the inner reader gave, hidden or not, and the cursor handed to the client
is always a visible id of the page.

Totals cannot come from pages: a counted page is left to the generic walk (None).
So is a namespace that sees too few of the ids downstream to fill its page in
``MAX_ROUNDS`` inner pages: walking once is then cheaper than paging on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lineage.model import LineageNode
from lineage.query.paging import PagedReach, ReachPage


class Visibility(Protocol):
    """What the paging needs of ``scope.Visibility``: declared here, so this module and
    the scope it serves do not import each other."""

    def visible(self, ids: Iterable[str]) -> set[str]: ...

    def visible_nodes(self, nodes: Mapping[str, LineageNode]) -> set[str]: ...


MAX_ROUNDS = 6
# Each round asks for twice as many ids as the last (a sparse namespace needs few
# rounds), up to a size one round trip carries comfortably.
GROWTH = 2
MAX_SIZE = 2000


@dataclass
class _List:
    """One of the two lists (models, runs) being filled."""

    after: str | None
    kept: list[str] = field(default_factory=list)
    ended: bool = False  # the inner reader has nothing after ``after``

    def filled(self, want: int) -> bool:
        return self.ended or len(self.kept) >= want

    def take(self, ids: Sequence[str], more: bool, visible: set[str], want: int) -> None:
        for node_id in ids:
            if node_id in visible:
                self.kept.append(node_id)
                if len(self.kept) == want:
                    return  # the cursor no longer matters: this list is done
            self.after = node_id
        self.ended = not more


def _visible(
    visibility: Visibility, ids: list[str], nodes: Mapping[str, LineageNode] | None
) -> set[str]:
    if nodes is not None and all(i in nodes for i in ids):
        return visibility.visible_nodes({i: nodes[i] for i in ids})
    return visibility.visible(ids)


def scoped_page(
    inner: PagedReach,
    visibility: Visibility,
    starts: Sequence[str],
    after_model: str | None,
    after_run: str | None,
    first: int,
    budget: int,
) -> ReachPage | None:
    """The uncounted page a namespace sees, or None when the generic walk must answer."""
    if first < 1:
        return None  # an empty page still says whether anything follows: walk for that
    want = first + 1
    models, runs = _List(after_model), _List(after_run)
    nodes: dict[str, LineageNode] | None = {}
    size = GROWTH * want
    for _ in range(MAX_ROUNDS):
        if models.filled(want) and runs.filled(want):
            break
        page = inner.reach_page(starts, models.after, runs.after, size, False, budget)
        if page is None:
            return None
        if (page.more_models and not page.models) or (page.more_runs and not page.runs):
            return None  # a page that does not move on could loop forever
        if nodes is not None and page.nodes is not None:
            nodes.update(page.nodes)
        else:
            nodes = None  # some ids came without nodes: the caller reads them all
        for wanted, ids, more in (
            (models, page.models, page.more_models),
            (runs, page.runs, page.more_runs),
        ):
            if not wanted.filled(want):
                seen = _visible(visibility, list(ids), page.nodes)
                wanted.take(ids, more, seen, want)
        size = min(size * GROWTH, max(MAX_SIZE, GROWTH * want))
    if not (models.filled(want) and runs.filled(want)):
        return None
    shown = models.kept[:first] + runs.kept[:first]
    if nodes is not None and not all(i in nodes for i in shown):
        nodes = None  # a node missing here would drop from the answer: read them instead
    return ReachPage(
        models=tuple(models.kept[:first]),
        runs=tuple(runs.kept[:first]),
        more_models=len(models.kept) > first,
        more_runs=len(runs.kept) > first,
        nodes={i: nodes[i] for i in shown} if nodes is not None else None,
    )
