"""One task of a plan: its image by digest (and how the digest is known), its parameters,
its inputs, and the outputs it must give again, each with its expected digest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lineage.errors import LineageError
from lineage.images.reference import parse_reference
from lineage.ingest import ir
from lineage.model import (
    IMAGE_EVENT_KEY,
    Artifact,
    EventType,
    Execution,
    ImageSource,
    KfpType,
    PropertyValue,
)
from lineage.rebuild.spec_facts import SpecTask
from lineage.rebuild.upstream import RunFacts
from lineage.services.ranking import numeric_metrics

# Of the ways an image digest is known, the best first: the spec fixed it; the pod
# reported what ran; a registry resolved the tag later (only as good as that moment).
_HOW = (ImageSource.PINNED.value, ImageSource.POD.value, ImageSource.REGISTRY.value)
# Artifact properties that describe the file, not what the component measured.
METRICS_TYPES = frozenset({KfpType.METRICS.value})


def image_entry(
    task: Execution, facts: RunFacts, spec_task: SpecTask | None
) -> dict[str, Any] | None:
    """The task's image: reference, repository, digest and how the digest is known.

    An image event (pinned, pod, registry) gives the digest; without one, a reference
    the spec pinned by digest gives it; otherwise only the tag is known (digest None).
    """
    known: list[tuple[int, dict[str, Any]]] = []
    for event in facts.events:
        if event.execution != task.id or event.type != EventType.INPUT:
            continue
        if event.path[:1] != (IMAGE_EVENT_KEY,) or len(event.path) < 2:
            continue
        how = str(event.path[1])
        image = facts.artifacts.get(event.artifact)
        if image is None or how not in _HOW:
            continue
        reference = str(event.path[2]) if len(event.path) > 2 else ""
        known.append((_HOW.index(how), _from_node(image, how, reference)))
    named = _reference(task, spec_task)
    if known:
        best = min(known, key=lambda pair: (pair[0], str(pair[1]["digest"])))[1]
        return {**best, "reference": best["reference"] or named}
    if named is None:
        return None
    return _from_reference(named)


def _reference(task: Execution, spec_task: SpecTask | None) -> str | None:
    value = task.properties.get("image")
    if isinstance(value, str) and value:
        return value
    return spec_task.image if spec_task is not None else None


def _from_node(image: Artifact, how: str, reference: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "repository": str(image.properties.get("repository", "")),
        "digest": str(image.properties.get("digest", "")) or None,
        "how": how,
    }


def _from_reference(reference: str) -> dict[str, Any]:
    try:
        parsed = parse_reference(reference)
        repository: str | None = parsed.name
    except LineageError:
        parsed, repository = None, None
    digest = parsed.digest if parsed is not None and ir.is_pinned(reference) else None
    return {
        "reference": reference,
        "repository": repository,
        "digest": digest,
        "how": ImageSource.PINNED.value if digest else None,
    }


def data_links(task: Execution, facts: RunFacts, direction: EventType) -> list[tuple[str, str]]:
    """(name, artifact id) of the task's data inputs or outputs, sorted."""
    return sorted(
        (event.key or "", event.artifact)
        for event in facts.data_events()
        if event.execution == task.id and event.type == direction
    )


def artifact_entry(artifact: Artifact) -> dict[str, Any]:
    """An artifact as a plan names it: by content digest where one was recorded."""
    props = artifact.properties
    entry: dict[str, Any] = {
        "artifact": artifact.id,
        "type": artifact.type,
        "uri": artifact.uri,
        "digest": _text(props.get("digest")),
        "digest_kind": _text(props.get("digest_kind")),
    }
    if entry["digest"] is None:
        entry["digest_absent"] = _text(props.get("digest_absent")) or "not recorded"
    return entry


def output_entry(name: str, artifact: Artifact) -> dict[str, Any]:
    entry = {"name": name, **artifact_entry(artifact)}
    if artifact.type in METRICS_TYPES:
        entry["metrics"] = metrics_of(artifact.properties)
    return entry


def metrics_of(props: Mapping[str, PropertyValue]) -> dict[str, float]:
    """The numbers a metrics artifact holds (what ``log_metric`` wrote)."""
    return dict(numeric_metrics(props))


def task_entry(
    task: Execution, path: str, facts: RunFacts, spec_task: SpecTask | None
) -> dict[str, Any]:
    """Everything the plan says of one task."""
    outputs = [
        output_entry(name, facts.artifacts[art])
        for name, art in data_links(task, facts, EventType.OUTPUT)
        if art in facts.artifacts
    ]
    return {
        "id": task.id,
        "path": path,
        "name": _text(task.properties.get("display_name")) or path,
        "type": task.type,
        "kind": spec_task.kind if spec_task is not None else None,
        "state": task.state.value,
        "component": spec_task.component if spec_task is not None else None,
        "executor": spec_task.executor if spec_task is not None else None,
        "source_digest": spec_task.source_digest if spec_task is not None else None,
        "image": image_entry(task, facts, spec_task),
        "installs_at_start": spec_task.installs if spec_task is not None else None,
        "non_deterministic": _non_deterministic(task, spec_task),
        "parameters": _struct(task.properties.get("inputs")),
        "output_parameters": _struct(task.properties.get("outputs")),
        "inputs": [
            {"name": name, "artifact": art}
            for name, art in data_links(task, facts, EventType.INPUT)
        ],
        "outputs": outputs,
    }


def _non_deterministic(task: Execution, spec_task: SpecTask | None) -> str | None:
    """How the task is marked non-deterministic: in its spec, or by the recorded
    execution property ``non_deterministic`` (true, 1 or "true")."""
    if spec_task is not None and spec_task.marked:
        return spec_task.marked
    value = task.properties.get("non_deterministic")
    if value is True or value == 1 or (isinstance(value, str) and value.lower() == "true"):
        return "execution property non_deterministic"
    return None


def _struct(value: PropertyValue | None) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _text(value: PropertyValue | None) -> str | None:
    return value if isinstance(value, str) and value else None
