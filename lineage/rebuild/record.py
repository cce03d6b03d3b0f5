"""A rebuild as a lineage fact: the ``lineage.Rebuild`` execution and what it compared.

``record_rebuild`` writes a ``RebuildResult`` in one transaction, following the
convention in ``lineage.model``: the rebuild is an execution of type ``lineage.Rebuild``
that reads (INPUT events) each original output on path ("original", i) and its rebuilt
counterpart on path ("rebuilt", i). The projection pairs those into REBUILT_FROM edges,
original -> rebuilt. INPUT, not OUTPUT, for the rebuilt artifact: the rebuilt run made
it, and a producer lookup must keep finding that run's task.

The id is ``rebuild:<sha256 of plan id, environment and rebuilt run>``, and every property
comes from the result, so recording the same result twice changes nothing.
``result_of`` reads a stored rebuild back into a ``RebuildResult``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from lineage.errors import BadInputError
from lineage.model import (
    REBUILD_ORIGINAL_KEY,
    REBUILD_REBUILT_KEY,
    Artifact,
    Event,
    EventType,
    Execution,
    ExecutionState,
    LineageType,
    RunRecord,
    sha256_hex,
)
from lineage.rebuild.verdict import OutputVerdict, RebuildResult, Verdict
from lineage.store.port import MetadataStore

REBUILD_PREFIX = "rebuild:"
# Lists travel inside a struct under this key (MLMD holds no list property; KFP does the same).
ITEMS = "items"


def rebuild_id(plan_id: str, environment: str, run: str | None) -> str:
    """The rebuild's lineage id: one per plan, target environment and rebuilt run."""
    text = "\n".join((plan_id, environment, run or ""))
    return f"{REBUILD_PREFIX}{sha256_hex(text.encode())}"


def _items(values: Sequence[Any]) -> dict[str, Any]:
    return {ITEMS: list(values)}


def _output(o: OutputVerdict) -> dict[str, Any]:
    row = asdict(o)
    row["verdict"] = o.verdict.value
    return row


def rebuild_properties(result: RebuildResult) -> dict[str, Any]:
    """Every fact of the result, as MLMD properties (absent values left out)."""
    props: dict[str, Any] = {
        "display_name": f"rebuild of {result.model} in {result.environment}",
        "plan_id": result.plan_id,
        "model": result.model,
        "environment": result.environment,
        "runner": result.runner,
        "verdict": result.verdict.value,
        "hermetic": result.hermetic,
        "outputs": _items([_output(o) for o in result.outputs]),
        "caveats": _items(result.caveats),
        "gaps": _items(result.gaps),
        "downstream_affected": _items(result.downstream_affected),
    }
    optional = {
        "run": result.run,
        "first_divergent_task": result.first_divergent_task,
        "started": result.started,
        "finished": result.finished,
    }
    props.update({k: v for k, v in optional.items() if v})
    if result.extra:
        props["extra"] = dict(result.extra)
    return props


def rebuild_execution(result: RebuildResult) -> Execution:
    state = ExecutionState.FAILED if result.verdict is Verdict.FAILED else ExecutionState.COMPLETE
    return Execution(
        id=rebuild_id(result.plan_id, result.environment, result.run),
        type=LineageType.REBUILD,
        # No name: MLMD keeps names unique per type; the id already is.
        state=state,
        properties=rebuild_properties(result),
    )


def rebuild_events(execution: str, outputs: Sequence[OutputVerdict]) -> list[Event]:
    """One INPUT event per artifact the rebuild compared; the index pairs original and
    rebuilt. An artifact met a second time (two outputs naming one) is read once:
    MLMD keeps one event per artifact, execution and type."""
    events: list[Event] = []
    seen: set[str] = set()
    for index, output in enumerate(outputs):
        for key, artifact in (
            (REBUILD_ORIGINAL_KEY, output.original),
            (REBUILD_REBUILT_KEY, output.rebuilt),
        ):
            if artifact and artifact not in seen:
                seen.add(artifact)
                events.append(Event(execution, artifact, EventType.INPUT, (key, index)))
    return events


def rebuild_record(result: RebuildResult, artifacts: Sequence[Artifact]) -> RunRecord:
    """The record of a rebuild, with the stored artifacts it compared (written back as
    they are, so the record names nodes it holds; no context: the originals belong to
    their own run)."""
    execution = rebuild_execution(result)
    events = rebuild_events(execution.id, result.outputs)
    return RunRecord(executions=(execution,), artifacts=tuple(artifacts), events=tuple(events))


def record_rebuild(store: MetadataStore, result: RebuildResult) -> str:
    """Write the rebuild in one transaction; return its lineage id.

    Every artifact the result names must already be stored (the original run and the
    rebuilt run are recorded first); otherwise nothing is written and the error names
    the missing artifact.
    """
    wanted = list(
        dict.fromkeys(
            a for o in result.outputs for a in (o.original, o.rebuilt) if a is not None and a
        )
    )
    stored = {a.id: a for a in store.get_artifacts(wanted)}
    for artifact_id in wanted:
        if artifact_id not in stored:
            raise BadInputError(
                f"rebuild of {result.model}: artifact {artifact_id!r} is not in the store"
            )
    record = rebuild_record(result, [stored[a] for a in wanted])
    store.put_run(record)
    return record.executions[0].id


# --- reading a stored rebuild back --------------------------------------------


def _list(props: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    value = props.get(key)
    if isinstance(value, dict) and isinstance(value.get(ITEMS), list):
        return tuple(value[ITEMS])
    return ()


def _text(props: Mapping[str, Any], key: str) -> str:
    value = props.get(key)
    return value if isinstance(value, str) else ""


def _output_of(row: Mapping[str, Any]) -> OutputVerdict:
    return OutputVerdict(
        task=str(row.get("task", "")),
        output=str(row.get("output", "")),
        original=str(row.get("original", "")),
        expected_digest=str(row.get("expected_digest", "")),
        verdict=Verdict(str(row.get("verdict", Verdict.FAILED.value))),
        rebuilt=row.get("rebuilt") or None,
        actual_digest=row.get("actual_digest") or None,
        detail=str(row.get("detail") or ""),
    )


def result_of(properties: Mapping[str, Any]) -> RebuildResult:
    """The result a stored ``lineage.Rebuild`` execution's properties hold."""
    extra = properties.get("extra")
    return RebuildResult(
        plan_id=_text(properties, "plan_id"),
        model=_text(properties, "model"),
        environment=_text(properties, "environment"),
        runner=_text(properties, "runner"),
        verdict=Verdict(_text(properties, "verdict") or Verdict.FAILED.value),
        outputs=tuple(_output_of(r) for r in _list(properties, "outputs") if isinstance(r, dict)),
        run=_text(properties, "run") or None,
        first_divergent_task=_text(properties, "first_divergent_task") or None,
        downstream_affected=tuple(str(v) for v in _list(properties, "downstream_affected")),
        caveats=tuple(str(v) for v in _list(properties, "caveats")),
        gaps=tuple(str(v) for v in _list(properties, "gaps")),
        started=_text(properties, "started"),
        finished=_text(properties, "finished"),
        extra=dict(extra) if isinstance(extra, dict) else {},
    )
