"""From a model to the run, or the chain of runs, that made it.

The walk goes through the lineage reader, as ``lineage lineage`` does: the task that
wrote the model (an OUTPUT edge), the run that task is PART_OF, and, for each input of
that run that an earlier run wrote (an importer of another run's output, for instance),
that earlier run, and so on up. The facts of each run are then read from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lineage.errors import BadInputError, NotFoundError
from lineage.model import (
    IMAGE_EVENT_KEY,
    Artifact,
    Direction,
    EdgeKind,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    LineageType,
    NodeKind,
    RunRecord,
)
from lineage.query.service import LineageService
from lineage.store.port import MetadataStore

IMPORTER = KfpType.IMPORTER_EXECUTION.value
SNAPSHOTTING = LineageType.SNAPSHOT_EXECUTION.value


@dataclass(frozen=True, slots=True)
class RunFacts:
    """One run as the store holds it: its context (first) and parents, its tasks, every
    event of those tasks (image events included) and every artifact they name."""

    record: RunRecord
    events: tuple[Event, ...]
    artifacts: dict[str, Artifact]

    @property
    def id(self) -> str:
        return self.record.contexts[0].id

    @property
    def tasks(self) -> tuple[Execution, ...]:
        return tuple(e for e in self.record.executions if e.type != SNAPSHOTTING)

    def data_events(self) -> list[Event]:
        """INPUT and OUTPUT events of data (not images)."""
        return [
            e
            for e in self.events
            if e.type in (EventType.INPUT, EventType.OUTPUT) and e.path[:1] != (IMAGE_EVENT_KEY,)
        ]

    def external_inputs(self) -> list[str]:
        """Artifacts this run reads that none of its own tasks wrote, and what its
        importers brought in: the data that enters the run from outside."""
        kinds = {t.id: t.type for t in self.tasks}
        written = {
            e.artifact
            for e in self.data_events()
            if e.type == EventType.OUTPUT and kinds.get(e.execution) != IMPORTER
        }
        entering = {
            e.artifact
            for e in self.data_events()
            if (e.type == EventType.INPUT or kinds.get(e.execution) == IMPORTER)
            and e.artifact not in written
        }
        return sorted(entering)


@dataclass(frozen=True, slots=True)
class Upstream:
    model: Artifact
    producer: str  # the task that wrote the model
    runs: tuple[RunFacts, ...]  # upstream first: a run comes after every run it reads from


def find_upstream(service: LineageService, store: MetadataStore, model_id: str) -> Upstream:
    """The model, the task that wrote it and the runs to rebuild, in order."""
    node = service.node(model_id)
    if node.kind != NodeKind.ARTIFACT:
        raise BadInputError(
            f"{model_id!r} is a {node.kind.value}, not an artifact: a plan starts from a model"
        )
    stored = store.get_artifacts([model_id])
    if not stored:
        raise NotFoundError(f"no artifact {model_id!r} in the store {store.location}")
    model = stored[0]
    producers = _writers(service, [model_id], exclude=())
    if not producers:
        raise BadInputError(f"{model_id}: no recorded task wrote it, so nothing can rebuild it")
    if len(producers) > 1:
        raise BadInputError(
            f"{model_id}: written by {len(producers)} tasks ({', '.join(producers)}); "
            "a plan rebuilds one"
        )
    ordered: list[RunFacts] = []
    _visit(service, store, _runs_of(service, producers, model_id)[0], ordered, ())
    return Upstream(model, producers[0], tuple(ordered))


def _visit(
    service: LineageService,
    store: MetadataStore,
    run: str,
    ordered: list[RunFacts],
    path: tuple[str, ...],
) -> None:
    """Depth first, each run after the runs it reads from (a post-order)."""
    if any(r.id == run for r in ordered):
        return
    if run in path:
        raise BadInputError(f"run {run} reads, through other runs, what it wrote itself")
    facts = read_run(store, run)
    own = {t.id for t in facts.tasks}
    earlier: set[str] = set()
    for artifact in facts.external_inputs():
        writers = _writers(service, [artifact], exclude=own)
        if writers:
            earlier.update(_runs_of(service, writers, artifact))
    for other in sorted(earlier - {run}):
        _visit(service, store, other, ordered, (*path, run))
    ordered.append(facts)


def read_run(store: MetadataStore, run: str) -> RunFacts:
    record = store.get_run(run)
    ids = [e.id for e in record.executions if e.type != SNAPSHOTTING]
    events = tuple(store.get_events(execution_ids=ids)) if ids else ()
    wanted = sorted({e.artifact for e in events})
    artifacts = {a.id: a for a in store.get_artifacts(wanted)} if wanted else {}
    return RunFacts(record, events, artifacts)


def _writers(
    service: LineageService, artifacts: Sequence[str], exclude: Iterable[str]
) -> list[str]:
    """Tasks that wrote these artifacts, importers left out (an importer brings data in,
    it does not make it), nor the tasks in ``exclude``."""
    found = service.reader.expand(artifacts, Direction.UPSTREAM, frozenset({EdgeKind.OUTPUT}))
    skip = set(exclude)
    writers = {
        edge.source: node
        for edge in found.edges
        if edge.kind == EdgeKind.OUTPUT
        and edge.source not in skip
        and (node := found.nodes.get(edge.source)) is not None
        and node.kind == NodeKind.TASK
        and node.type != IMPORTER
    }
    # A cached task records the outputs of the task it reused: the one that ran made them.
    ran = [task for task, node in writers.items() if node.state != ExecutionState.CACHED]
    return sorted(ran or writers)


def _runs_of(service: LineageService, tasks: Sequence[str], what: str) -> list[str]:
    found = service.reader.expand(tasks, Direction.DOWNSTREAM, frozenset({EdgeKind.PART_OF}))
    runs = sorted(
        {
            edge.target
            for edge in found.edges
            if (node := found.nodes.get(edge.target)) is not None and node.kind == NodeKind.RUN
        }
    )
    if not runs:
        raise BadInputError(f"{what}: the task that wrote it ({', '.join(tasks)}) is in no run")
    return runs
