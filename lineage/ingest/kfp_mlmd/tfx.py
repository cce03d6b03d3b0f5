"""TFX's MLMD conventions, mapped to the roles the rest of the product asks about.

TFX (its portable orchestrator, 1.x) writes, for every component it runs:

- three contexts, each of a type TFX registers by name: ``pipeline`` (named after the
  pipeline), ``pipeline_run`` (named after the run id, SYNC pipelines only) and ``node``
  (``<pipeline>.<node id>``, shared by that component's executions across runs);
- an execution typed by the component's class (``tfx.components.trainer.component.Trainer``),
  associated with all three contexts, its exec properties as properties, often named by
  a generated id;
- artifacts typed by TFX's artifact classes (``Examples``, ``Schema``, ``Model``,
  ``ModelBlessing``, ``PushedModel``...), attributed to the same contexts, and INPUT and
  OUTPUT events whose path is ``{key: <input or output name>}, {index: <position>}``.

The store speaks one vocabulary for what a node *is*, whichever tool wrote it: so a
TFX ``pipeline_run`` is stored as a ``system.PipelineRun`` context (id ``run:<run id>``),
a ``pipeline`` as a ``system.Pipeline`` (``pipeline:<name>``, the run's parent), and a
``Model`` or ``PushedModel`` as a ``system.Model``; the name TFX gave the type stays in
the ``source_type`` property. A TFX execution in a run is the task
``task:<run id>/<node id>``, named after its node, so the same component of two runs
lines up (diff). Its exec properties are kept as they are, and also gathered in KFP's
``inputs`` struct (TFX's internal ``__...__`` keys left out), which is where parameters
are compared. The name TFX gave the execution stays in ``execution_name``.

A ``node`` context groups one component's executions across runs: each task already
carries its node (``task_name``) and its run, so the node context is stored with only
the executions and artifacts that are in no run (an ASYNC pipeline has no runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.model import KfpType, Properties, PropertyValue, task_id

PIPELINE = "pipeline"
PIPELINE_RUN = "pipeline_run"
NODE = "node"
MODEL_TYPES = frozenset({"Model", "PushedModel"})
SOURCE_TYPE = "source_type"  # the type name the source gave a node we store under a role
EXECUTION_NAME = "execution_name"  # the name TFX gave an execution
_ROLES: Mapping[str, str] = {PIPELINE: KfpType.PIPELINE, PIPELINE_RUN: KfpType.PIPELINE_RUN}
# Exec properties TFX keeps for itself (``__execution_result__``, ``__schema__x__``...).
_INTERNAL = "__"


def is_tfx_store(context_types: Sequence[str]) -> bool:
    """A store TFX wrote: it registered the ``node`` or ``pipeline_run`` context type."""
    return NODE in context_types or PIPELINE_RUN in context_types


def is_run(type_name: str) -> bool:
    return type_name in (KfpType.PIPELINE_RUN, PIPELINE_RUN)


def is_pipeline(type_name: str) -> bool:
    return type_name in (KfpType.PIPELINE, PIPELINE)


def context_type(type_name: str) -> str:
    """The type a context is stored under: TFX's pipeline and run take KFP's role names."""
    return _ROLES.get(type_name, type_name)


def artifact_type(type_name: str, tfx: bool) -> str:
    return KfpType.MODEL.value if tfx and type_name in MODEL_TYPES else type_name


def with_source_type(props: Properties, source: str, stored: str) -> Properties:
    return props if source == stored else {**props, SOURCE_TYPE: source}


def node_of(ex: pb.Execution, node_contexts: Sequence[pb.Context], pipeline: str | None) -> str:
    """The node id of a TFX execution: from its ``node`` context (``<pipeline>.<node>``),
    else the ``component_id`` or ``node_id`` property older TFX wrote, else its type."""
    for ctx in sorted(node_contexts, key=lambda c: c.id):
        name = str(ctx.name)
        if pipeline and name.startswith(f"{pipeline}."):
            return name[len(pipeline) + 1 :]
        if name:
            return name
    for key in ("component_id", "node_id"):
        for props in (ex.custom_properties, ex.properties):
            if key in props and props[key].WhichOneof("value") == "string_value":
                value = str(props[key].string_value)
                if value:
                    return value
    return str(ex.type).rsplit(".", 1)[-1] or f"execution-{ex.id}"


def run_task_ids(run: str, nodes: Mapping[int, str], external: Mapping[int, str]) -> dict[int, str]:
    """``task:<run>/<node>`` for each execution row; a node run twice in one run (a retry)
    keeps the plain id for its oldest row, the others get ``#<row>``. External ids win."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for row in sorted(nodes):
        if external.get(row):
            out[row] = external[row]
            continue
        path = nodes[row]
        if path in taken:
            path = f"{path}#{row}"
        taken.add(path)
        out[row] = task_id(run, path)
    return out


def task_properties(props: Properties, node: str, name: str | None) -> dict[str, PropertyValue]:
    """What a TFX task adds to its exec properties: its node as ``task_name``, its
    parameters as ``inputs``, and the name TFX gave it."""
    extra: dict[str, PropertyValue] = {"task_name": node}
    if "inputs" not in props:
        extra["inputs"] = {k: v for k, v in props.items() if not k.startswith(_INTERNAL)}
    if name:
        extra[EXECUTION_NAME] = name
    return extra
