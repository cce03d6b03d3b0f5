"""Answers computed straight from the store's events, to check the API's answers against.

Deliberately naive (one store call per step, no shared code with the query
engine): if the API and these agree, the API reports what the store holds.
"""

from __future__ import annotations

from lineage.model import EventType, KfpType, LineageType, RunRecord
from lineage.store.mlmd import MlmdStore


def upstream_artifacts(store: MlmdStore, artifact: str) -> set[str]:
    """Every artifact (images included) that fed ``artifact``, however far back, and the
    snapshots taken of each of them (a snapshot stands for the data it holds)."""
    seen: set[str] = set()
    frontier = [artifact]
    while frontier:
        current = frontier.pop()
        producers = [
            e.execution
            for e in store.get_events(artifact_ids=[current])
            if e.artifact == current and e.type is EventType.OUTPUT
        ]
        for execution in producers:
            if _is_snapshotting(store, execution):
                continue  # a snapshot's stored producer reads the data it holds: no input
            for event in store.get_events(execution_ids=[execution]):
                fed = event.execution == execution and event.type is EventType.INPUT
                if fed and event.artifact not in seen:
                    seen.add(event.artifact)
                    frontier.append(event.artifact)
    return seen | snapshots_of(store, seen)


def _is_snapshotting(store: MlmdStore, execution: str) -> bool:
    [found] = store.get_executions([execution])
    return found.type == LineageType.SNAPSHOT_EXECUTION


def snapshots_of(store: MlmdStore, artifacts: set[str]) -> set[str]:
    """The snapshots taken of ``artifacts``: outputs of a snapshotting that read them."""
    found: set[str] = set()
    for artifact in sorted(artifacts):
        for event in store.get_events(artifact_ids=[artifact]):
            if event.artifact != artifact or event.type is not EventType.INPUT:
                continue
            if not _is_snapshotting(store, event.execution):
                continue
            found.update(
                e.artifact
                for e in store.get_events(execution_ids=[event.execution])
                if e.execution == event.execution and e.type is EventType.OUTPUT
            )
    return found


def all_runs(store: MlmdStore) -> list[RunRecord]:
    contexts = store.list_contexts(KfpType.PIPELINE_RUN, page_size=1000).items
    return [store.get_run(c.id) for c in contexts]


def run_of_task(store: MlmdStore, task: str) -> str:
    for record in all_runs(store):
        if any(e.id == task for e in record.executions):
            return next(c.id for c in record.contexts if c.type == KfpType.PIPELINE_RUN)
    raise AssertionError(f"{task} is in no run")


def image_digests_used(store: MlmdStore, artifact: str) -> set[str]:
    """The digests of the images upstream of an artifact."""
    ids = upstream_artifacts(store, artifact)
    return {
        str(a.properties["digest"])
        for a in store.get_artifacts(sorted(ids))
        if a.type == LineageType.IMAGE
    }


def models(store: MlmdStore) -> list[str]:
    return [a.id for a in store.list_artifacts(KfpType.MODEL, page_size=1000).items]


def consumers(store: MlmdStore, artifact: str) -> set[str]:
    return {
        e.execution
        for e in store.get_events(artifact_ids=[artifact])
        if e.artifact == artifact and e.type is EventType.INPUT
    }


def snapshot_sources(store: MlmdStore, snapshot: str) -> set[str]:
    acts = {
        e.execution
        for e in store.get_events(artifact_ids=[snapshot])
        if e.artifact == snapshot and e.type is EventType.OUTPUT
    }
    return {
        e.artifact
        for e in store.get_events(execution_ids=sorted(acts))
        if e.execution in acts and e.type is EventType.INPUT
    }
