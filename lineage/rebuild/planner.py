"""The rebuild plan of a model, assembled from what the store recorded.

The plan (schema ``kfp-lineage/rebuild-plan/v1``) holds:

- ``model``: the artifact to rebuild, its expected digest and the task that wrote it;
- ``runs``: the runs to run again, upstream first, each with its pipeline spec and the
  spec's digest, its parameters, runner and environment, and its tasks in topological
  order (image by digest and how it is known, component source digest, parameters,
  inputs, and every output with its expected digest);
- ``images``: every image, by digest where one is known, with the tasks that ran it;
- ``inputs``: the data that enters from outside the planned runs: content digest and
  location, snapshots, and whether an importer brought it in;
- ``tolerances``: how far each named metric may drift in a rebuild;
- ``gaps``: what keeps the plan from being hermetic, each with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineage.errors import BadInputError
from lineage.model import (
    SNAPSHOT_OUTPUT_KEY,
    SNAPSHOT_SOURCE_KEY,
    EventType,
    LineageType,
)
from lineage.query.service import LineageService
from lineage.rebuild.document import SCHEMA, seal
from lineage.rebuild.gaps import Gap, find_gaps
from lineage.rebuild.runs import run_entry
from lineage.rebuild.tasks import artifact_entry
from lineage.rebuild.upstream import IMPORTER, RunFacts, find_upstream
from lineage.store.port import MetadataStore


@dataclass(frozen=True, slots=True)
class Plan:
    document: dict[str, Any]  # sealed: its ``id`` is the digest of the rest
    gaps: tuple[Gap, ...]

    @property
    def id(self) -> str:
        return str(self.document["id"])


def build_plan(
    service: LineageService,
    store: MetadataStore,
    model_id: str,
    tolerances: Mapping[str, float] | None = None,
) -> Plan:
    upstream = find_upstream(service, store, model_id)
    runs = [run_entry(facts) for facts in upstream.runs]
    written = {
        output["artifact"]
        for run in runs
        for task in run["tasks"]
        if task["type"] != IMPORTER
        for output in task["outputs"]
    }
    tolerances = dict(sorted((tolerances or {}).items()))
    check_tolerances(tolerances, runs)
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "model": {**artifact_entry(upstream.model), "producer": upstream.producer},
        "runs": runs,
        "images": images_of(runs),
        "inputs": inputs_of(store, upstream.runs, written),
        "tolerances": tolerances,
    }
    gaps = find_gaps(body)
    body["gaps"] = [gap.as_dict() for gap in gaps]
    return Plan(seal(body), tuple(gaps))


def check_tolerances(tolerances: Mapping[str, float], runs: Sequence[Mapping[str, Any]]) -> None:
    """A tolerance names a metric that some output of the plan recorded."""
    names = {
        name
        for run in runs
        for task in run["tasks"]
        for output in task["outputs"]
        for name in output.get("metrics", {})
    }
    for name in tolerances:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise BadInputError(
                f"--tolerance {name}: no output of the plan records a metric {name!r} "
                f"(metrics: {known})"
            )


def images_of(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each image once (by repository, digest, how it is known and reference), with its tasks."""
    found: dict[tuple[str, str, str, str], list[str]] = {}
    for run in runs:
        for task in run["tasks"]:
            image = task.get("image")
            if image is None:
                continue
            key = tuple(
                str(image.get(k) or "") for k in ("repository", "digest", "how", "reference")
            )
            found.setdefault((key[0], key[1], key[2], key[3]), []).append(task["id"])
    return [
        {
            "repository": repository or None,
            "digest": digest or None,
            "how": how or None,
            "reference": reference,
            "tasks": sorted(tasks),
        }
        for (repository, digest, how, reference), tasks in sorted(found.items())
    ]


def inputs_of(
    store: MetadataStore, runs: Sequence[RunFacts], written: set[str]
) -> list[dict[str, Any]]:
    """The data that enters the planned runs from outside them, by artifact id."""
    entries: dict[str, dict[str, Any]] = {}
    for facts in runs:
        kinds = {t.id: t.type for t in facts.tasks}
        for artifact in facts.external_inputs():
            if artifact in written or artifact not in facts.artifacts:
                continue
            entry = entries.setdefault(
                artifact,
                {**artifact_entry(facts.artifacts[artifact]), "importer": False, "consumers": []},
            )
            for event in facts.data_events():
                if event.artifact != artifact:
                    continue
                if event.type == EventType.INPUT:
                    entry["consumers"].append(event.execution)
                elif kinds.get(event.execution) == IMPORTER:
                    entry["importer"] = True
    snapshots = snapshots_of(store, sorted(entries))
    for artifact, entry in entries.items():
        entry["consumers"] = sorted(set(entry["consumers"]))
        entry["snapshots"] = snapshots.get(artifact, [])
    return [entries[key] for key in sorted(entries)]


def snapshots_of(store: MetadataStore, artifacts: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The snapshots taken of each artifact: id, Merkle root and the store that holds it."""
    if not artifacts:
        return {}
    reads = [
        e
        for e in store.get_events(artifact_ids=artifacts)
        if e.type == EventType.INPUT and e.path[:1] == (SNAPSHOT_SOURCE_KEY,)
    ]
    acts = {e.id: e for e in store.get_executions(sorted({r.execution for r in reads}))}
    acts = {k: v for k, v in acts.items() if v.type == LineageType.SNAPSHOT_EXECUTION}
    if not acts:
        return {}
    writes = [
        e
        for e in store.get_events(execution_ids=sorted(acts))
        if e.type == EventType.OUTPUT and e.path[:1] == (SNAPSHOT_OUTPUT_KEY,)
    ]
    nodes = {a.id: a for a in store.get_artifacts(sorted({w.artifact for w in writes}))}
    out: dict[str, set[tuple[str, str, str]]] = {}
    for read in reads:
        for write in writes:
            node = nodes.get(write.artifact)
            if write.execution != read.execution or node is None:
                continue
            root, where = node.properties.get("root", ""), node.properties.get("store", "")
            out.setdefault(read.artifact, set()).add((node.id, str(root), str(where)))
    return {
        artifact: [{"id": i, "root": r, "store": s} for i, r, s in sorted(found)]
        for artifact, found in out.items()
    }
