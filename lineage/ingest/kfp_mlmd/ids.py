"""Stable ids for the nodes of a source MLMD store.

MLMD row ids are private to one database, so they never become our ids when the source
says something better:

- a node's own ``external_id`` wins (the source declared its identity);
- a ``system.PipelineRun`` context is ``run:<name>`` (KFP names it after the run id), a
  ``system.Pipeline`` context ``pipeline:<name>`` (TFX's ``pipeline_run`` and ``pipeline``
  likewise, see tfx_mlmd), any other context ``context:<type>/<name>`` (MLMD keeps
  context names unique per type);
- an execution of a KFP run is ``task:<run>/<path>``: the ``parent_dag_id`` chain of
  ``task_name``s, each with ``[iteration_index]`` inside a loop; the root DAG is the empty path;
- an artifact is named by its URI; when the source holds several artifacts at one URI (an
  importer with ``reimport=True``), the oldest keeps the plain id and the others carry
  their row as a qualifier;
- what has none of these (an execution outside any KFP run, an artifact with no URI) is
  named by its row, qualified by the source, so two sources never collide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import BadInputError
from lineage.ingest.kfp_mlmd import tfx
from lineage.model import KfpType, artifact_id, pipeline_id, run_id, task_id

ROOT_PATH = ""


def int_prop(node: Any, key: str) -> int | None:
    """An integer custom property as KFP writes it (int, or a whole double, or digits)."""
    if key not in node.custom_properties:
        return None
    value = node.custom_properties[key]
    which = value.WhichOneof("value")
    if which == "int_value":
        return int(value.int_value)
    if which == "double_value" and float(value.double_value).is_integer():
        return int(value.double_value)
    if which == "string_value" and value.string_value.strip().lstrip("-").isdigit():
        return int(value.string_value)
    return None


def str_prop(node: Any, key: str) -> str:
    if key not in node.custom_properties:
        return ""
    value = node.custom_properties[key]
    return str(value.string_value) if value.WhichOneof("value") == "string_value" else ""


def context_id(ctx: pb.Context) -> str:
    if ctx.external_id:
        return str(ctx.external_id)
    if tfx.is_run(ctx.type):
        return run_id(ctx.name)
    if tfx.is_pipeline(ctx.type):
        return pipeline_id(ctx.name)
    return f"context:{ctx.type}/{ctx.name}"


def row_id(kind: str, source_key: str, row: int) -> str:
    """The id of a node known only by its row in one source."""
    return f"{kind}:mlmd-{source_key}/{row}"


def generic_execution_id(ex: pb.Execution, source_key: str) -> str:
    """An execution outside any KFP run: external id, else its name (unique per type)."""
    if ex.external_id:
        return str(ex.external_id)
    if ex.HasField("name") and ex.name:
        return f"execution:{ex.type}/{ex.name}"
    return row_id("execution", source_key, ex.id)


def _segment(ex: pb.Execution) -> str:
    name = str_prop(ex, "task_name") or (ex.name if ex.HasField("name") else "")
    name = name or f"execution-{ex.id}"
    index = int_prop(ex, "iteration_index")
    return f"{name}[{index}]" if index is not None else name


def _is_root(ex: pb.Execution, run: str) -> bool:
    if int_prop(ex, "parent_dag_id"):
        return False
    return ex.type == KfpType.DAG_EXECUTION and (
        ex.name == f"run/{run}" or not str_prop(ex, "task_name")
    )


def task_paths(run: str, executions: Sequence[pb.Execution]) -> dict[int, str]:
    """The task path of every execution of one KFP run, by MLMD row id.

    Two executions that would share a path (a retried task, a damaged store) are told
    apart deterministically: the oldest keeps the path, the next ones get ``#<row>``.
    """
    by_row = {ex.id: ex for ex in executions}
    depth: dict[int, int] = {}

    def depth_of(row: int, seen: tuple[int, ...] = ()) -> int:
        if row in depth:
            return depth[row]
        ex = by_row[row]
        parent = int_prop(ex, "parent_dag_id")
        if not parent:
            depth[row] = 0
            return 0
        if parent not in by_row:
            raise BadInputError(
                f"{run_id(run)}: execution {row} ({_segment(ex)}) names parent_dag_id "
                f"{parent}, which is not an execution of this run"
            )
        if parent in seen or parent == row:
            raise BadInputError(
                f"{run_id(run)}: the parent_dag_id chain of execution {row} loops back on itself"
            )
        depth[row] = depth_of(parent, (*seen, row)) + 1
        return depth[row]

    for row in sorted(by_row):
        depth_of(row)
    paths: dict[int, str] = {}
    taken: set[str] = set()
    for row in sorted(by_row, key=lambda r: (depth[r], r)):
        ex = by_row[row]
        parent = int_prop(ex, "parent_dag_id")
        if not parent and _is_root(ex, run) and ROOT_PATH not in taken:
            path = ROOT_PATH
        else:
            prefix = paths[parent] if parent else ROOT_PATH
            segment = _segment(ex)
            path = f"{prefix}/{segment}" if prefix else segment
            if path in taken:
                path = f"{path}#{row}"
        taken.add(path)
        paths[row] = path
    return paths


def run_task_ids(run: str, executions: Sequence[pb.Execution]) -> dict[int, str]:
    """Our id of every execution of a KFP run (external ids win), by row."""
    paths = task_paths(run, executions)
    return {
        ex.id: str(ex.external_id) if ex.external_id else task_id(run, paths[ex.id])
        for ex in executions
    }


def artifact_ids(
    artifacts: Iterable[pb.Artifact], same_uri: Mapping[str, Sequence[int]], source_key: str
) -> dict[int, str]:
    """Our id of each artifact by row. ``same_uri`` lists, per URI, every row the source
    holds at that URI (not only those in hand), so the qualifier never depends on the run."""
    out: dict[int, str] = {}
    for art in artifacts:
        if art.external_id:
            out[art.id] = str(art.external_id)
        elif not art.uri:
            out[art.id] = row_id("artifact", source_key, art.id)
        else:
            rows = same_uri.get(art.uri, ())
            oldest = min(rows) if rows else art.id
            out[art.id] = (
                artifact_id(art.uri) if art.id == oldest else artifact_id(art.uri, str(art.id))
            )
    return out
