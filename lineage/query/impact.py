"""Impact: every model and run downstream of some nodes, paged by id with a cursor.

A snapshot stands for the data it holds (see ``lineage.query.traverse``): impact
from a snapshot is impact from the artifacts it was taken of, the snapshot
included. The stored edge runs artifact -> snapshot, so those artifacts are added
to the starts here, once, and every reader's way of answering (the generic walk,
Neo4j's reach index and its Cypher walks) then walks the stored arrows alone.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Sequence

from lineage.errors import BadInputError
from lineage.model import DATA_FLOW, Direction, EdgeKind, LineageNode, NodeKind
from lineage.query.paging import PagedReach, ReachPage
from lineage.query.port import LineageReader
from lineage.query.types import ImpactAnswer, ImpactQuery

MODEL_TYPE = "system.Model"


def downstream(
    reader: LineageReader, starts: Sequence[str], as_of_ms: int | None, budget: int
) -> tuple[list[str], list[str], bool]:
    """Model artifacts and tasks downstream of ``starts`` (starts excluded), sorted,
    by a level-by-level walk of at most ``budget`` nodes; the flag says it was cut.

    The way every reader can answer impact; a reader with a faster native way
    (Cypher) must give the same answer.
    """
    reached: set[str] = set(starts)
    models: set[str] = set()
    tasks: set[str] = set()
    frontier = sorted(reached)
    truncated = False
    while frontier:
        step = reader.expand(frontier, Direction.DOWNSTREAM, DATA_FLOW, as_of_ms)
        fresh = sorted({e.target for e in step.edges} - reached)
        if len(reached) + len(fresh) > budget:
            fresh = fresh[: max(budget - len(reached), 0)]
            truncated = True
        for node_id in fresh:
            node = step.nodes[node_id]
            if node.kind is NodeKind.ARTIFACT and node.type == MODEL_TYPE:
                models.add(node_id)
            elif node.kind is NodeKind.TASK:
                tasks.add(node_id)
        reached.update(fresh)
        frontier = [] if truncated else fresh
    return sorted(models), sorted(tasks), truncated


def encode_cursor(model: str | None, run: str | None) -> str:
    raw = json.dumps({"m": model, "r": run}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, str | None]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        model, run = value["m"], value["r"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadInputError(f"not a cursor this service handed out: {cursor!r}") from exc
    if not (model is None or isinstance(model, str)) or not (run is None or isinstance(run, str)):
        raise BadInputError(f"not a cursor this service handed out: {cursor!r}")
    return model, run


def _page(ids: Sequence[str], after: str | None, first: int) -> tuple[list[str], bool]:
    """The ``first`` ids after ``after`` (ids are sorted), and whether more follow."""
    start = bisect.bisect_right(ids, after) if after is not None else 0
    return list(ids[start : start + first]), start + first < len(ids)


def held_starts(
    reader: LineageReader, sources: Sequence[LineageNode], as_of_ms: int | None
) -> list[str]:
    """The ids impact starts from: the sources, and the data each snapshot among them
    holds (its SNAPSHOT_OF sources). One hop only: the other snapshots of that data are
    reached, if at all, as any node downstream of it."""
    starts = dict.fromkeys(s.id for s in sources)
    snapshots = [s.id for s in sources if s.kind is NodeKind.SNAPSHOT]
    if snapshots:
        held = reader.expand(snapshots, Direction.UPSTREAM, _SNAPSHOT_OF, as_of_ms)
        starts.update(dict.fromkeys(sorted(e.source for e in held.edges)))
    return list(starts)


_SNAPSHOT_OF = frozenset({EdgeKind.SNAPSHOT_OF})


def impact(
    reader: LineageReader, sources: Sequence[LineageNode], query: ImpactQuery, budget: int
) -> ImpactAnswer:
    after_model, after_run = decode_cursor(query.after) if query.after else (None, None)
    starts = held_starts(reader, sources, query.as_of_ms)
    page = None
    if isinstance(reader, PagedReach) and query.as_of_ms is None:
        page = reader.reach_page(
            starts,
            after_model,
            after_run,
            query.first,
            query.count,
            budget,
            count_runs=query.count_runs,
        )
    if page is None:
        reach = reader.reach(starts, query.as_of_ms, budget)
        models, more_models = _page(reach.models, after_model, query.first)
        runs, more_runs = _page(reach.runs, after_run, query.first)
        page = ReachPage(
            tuple(models),
            tuple(runs),
            more_models,
            more_runs,
            len(reach.models),
            len(reach.runs),
            reach.truncated,
        )
    models, runs = list(page.models), list(page.runs)
    if page.nodes is not None:
        found = page.nodes
    else:
        found = reader.nodes(models + runs) if models or runs else {}
    cursor = None
    if page.more_models or page.more_runs:
        cursor = encode_cursor(
            models[-1] if models else after_model, runs[-1] if runs else after_run
        )
    # Counted: every total asked for was counted (the run total may not have been asked).
    counted = page.total_models is not None and (
        page.total_runs is not None or not query.count_runs
    )
    return ImpactAnswer(
        sources=tuple(sources),
        models=tuple(found[i] for i in models if i in found),
        runs=tuple(found[i] for i in runs if i in found),
        total_models=page.total_models if page.total_models is not None else -1,
        total_runs=page.total_runs if page.total_runs is not None else -1,
        cursor=cursor,
        truncated=page.truncated,
        counted=counted,
    )
