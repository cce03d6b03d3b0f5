"""Pipeline specs (KFP IR YAML) as content-addressed pipeline versions.

A pipeline version *is* its spec: the id is the sha256 of the canonical JSON of
the whole document KFP runs (the pipeline spec, and the platform spec when it
configures anything), so the same spec compiled twice, or arriving once from a
file and once from the KFP API, is one version, and a version never changes. The
spec is kept whole (unknown fields of newer SDKs included) as the version's
``pipeline_spec`` property.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from lineage import model
from lineage.errors import BadInputError
from lineage.ingest import ir
from lineage.ingest.units import Unit, write_together
from lineage.model import Context, KfpType, LineageType, RunRecord
from lineage.store.port import MetadataStore, WriteResult

# libyaml's safe loader when PyYAML has it: ten times faster on large specs, same result.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The IR schema versions this reader understands: 2.0.0 (the first KFP v2 SDKs) and 2.1.0
# (what kfp 2.13's compiler writes). A later schema may change what the fields mean.
SCHEMA_VERSIONS = ("2.0.0", "2.1.0")
# The top-level fields of KFP's PipelineSpec message; anything else came from a newer SDK.
KNOWN_FIELDS = frozenset(
    {
        "pipelineInfo",
        "deploymentSpec",
        "sdkVersion",
        "schemaVersion",
        "components",
        "root",
        "defaultPipelineRoot",
    }
)


@dataclass(frozen=True, slots=True)
class ImageRef:
    reference: str
    pinned: bool  # the reference names a digest, so it cannot move

    def as_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "pinned": self.pinned}


@dataclass(frozen=True, slots=True)
class TaskInfo:
    path: str  # "outer/train": task keys from the root DAG down
    name: str  # taskInfo.name (KFP's display name of the task)
    parent: str | None  # path of the enclosing DAG task
    component: str
    executor: str | None  # executor label; None for a DAG task
    kind: str  # container | importer | dag (or a newer SDK's executor kind)
    image: str | None = None
    pinned: bool | None = None
    source_digest: str | None = None  # sha256 of a lightweight component's embedded source
    condition: str | None = None  # triggerPolicy.condition
    loop: bool = False  # a ParallelFor task

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "parent": self.parent,
            "component": self.component,
            "executor": self.executor,
            "kind": self.kind,
            "image": self.image,
            "pinned": self.pinned,
            "source_digest": self.source_digest,
            "condition": self.condition,
            "loop": self.loop,
        }


@dataclass(frozen=True, slots=True)
class PipelineSpecInfo:
    id: str  # spec:sha256:<hex of the canonical JSON> (see version_id)
    pipeline: str  # pipelineInfo.name
    spec: Mapping[str, Any]  # the whole spec, numbers normalised (see normalize_numbers)
    platform_spec: Mapping[str, Any] | None
    tasks: tuple[TaskInfo, ...]
    images: tuple[ImageRef, ...]
    sdk_version: str | None = None
    schema_version: str | None = None
    display_name: str | None = None
    description: str | None = None
    unknown_fields: tuple[str, ...] = field(default=())  # top-level fields KFP 2.13 lacks

    @property
    def source_digests(self) -> dict[str, str]:
        return {t.path: t.source_digest for t in self.tasks if t.source_digest}

    def summary(self) -> dict[str, Any]:
        """What ``lineage ingest spec --json`` prints for one file."""
        return {
            "id": self.id,
            "pipeline": self.pipeline,
            "tasks": [t.as_dict() for t in self.tasks],
            "images": [i.as_dict() for i in self.images],
        }


# --- loading -----------------------------------------------------------------


def load_spec_documents(
    path_or_text: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The pipeline spec and, when present, the platform spec (``platforms: kubernetes: ...``).

    A ``Path`` (or a string naming an existing file) is read; any other string
    is YAML text. The API's wrapped form ``{pipeline_spec, platform_spec}`` is
    unwrapped too.
    """
    source, text = _read(path_or_text)
    try:
        documents = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInputError(f"{source}: malformed YAML{at}: {problem}") from exc
    if not documents:
        raise BadInputError(f"{source}: empty, no pipeline spec in it")
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise BadInputError(
                f"{source}: document {index + 1} is a {type(document).__name__}, "
                "expected a mapping (a KFP pipeline spec)"
            )
    if len(documents) == 1 and isinstance(documents[0].get("pipeline_spec"), dict):
        wrapped = documents[0]
        platform = wrapped.get("platform_spec")
        documents = [wrapped["pipeline_spec"], *([platform] if isinstance(platform, dict) else [])]
    specs = [d for d in documents if "platforms" not in d]
    platforms = [d for d in documents if "platforms" in d]
    if len(specs) != 1 or len(platforms) > 1:
        raise BadInputError(
            f"{source}: expected one pipeline spec and at most one platform spec, got "
            f"{len(specs)} pipeline spec(s) and {len(platforms)} platform spec(s)"
        )
    spec = specs[0]
    if not isinstance(spec.get("deploymentSpec"), dict):
        raise BadInputError(
            f"{source}: not a compiled KFP pipeline spec: it has no deploymentSpec "
            "(compile it with kfp.compiler.Compiler first)"
        )
    return spec, (platforms[0] if platforms else None)


def _read(path_or_text: str | os.PathLike[str]) -> tuple[str, str]:
    if isinstance(path_or_text, str) and ("\n" in path_or_text or not os.path.isfile(path_or_text)):
        return "<pipeline spec text>", path_or_text
    path = Path(path_or_text)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInputError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read it: {exc}") from exc


# --- parsing -----------------------------------------------------------------


def normalize_numbers(value: Any) -> Any:
    """Whole floats as ints, everywhere in a JSON-like value.

    The SDK writes ``5.0`` into YAML where the KFP API's JSON says ``5`` for the
    same protobuf number; without this, one spec would get two ids.
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: normalize_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(item) for item in value]
    return value


def parse_spec(
    spec: Mapping[str, Any],
    platform_spec: Mapping[str, Any] | None = None,
    *,
    source: str | None = None,
) -> PipelineSpecInfo:
    """Map a pipeline spec's tasks, components, executors and images."""
    where = source or "pipeline spec"
    info = ir.mapping(spec.get("pipelineInfo"), f"{where}: pipelineInfo")
    name = info.get("name")
    if not isinstance(name, str) or not name:
        raise BadInputError(f"{where}: pipelineInfo.name is missing")
    where = source or f"pipeline spec {name!r}"
    if not isinstance(spec.get("deploymentSpec"), Mapping):
        raise BadInputError(f"{where}: not a compiled KFP pipeline spec: it has no deploymentSpec")
    _check_schema_version(spec.get("schemaVersion"), where)
    canonical = normalize_numbers(dict(spec))
    # A platform spec that configures nothing is no platform spec: one version, one record.
    platform = None
    if platform_spec is not None and _has_platform_config(platform_spec):
        platform = normalize_numbers(dict(platform_spec))
    executors = ir.executors(canonical, where)
    tasks = tuple(_task_info(task, executors, where) for task in ir.walk_tasks(canonical, where))
    images: dict[str, ImageRef] = {}
    for label in sorted(executors):
        container = ir.mapping(executors[label], f"{where}: executor {label}").get("container")
        image = ir.mapping(container, f"{where}: executor {label}").get("image")
        if isinstance(image, str) and image:
            images[image] = ImageRef(image, ir.is_pinned(image))
    return PipelineSpecInfo(
        id=version_id(canonical, platform),
        pipeline=name,
        spec=canonical,
        platform_spec=platform,
        tasks=tasks,
        images=tuple(images[r] for r in sorted(images)),
        sdk_version=_str(canonical.get("sdkVersion")),
        schema_version=_str(canonical.get("schemaVersion")),
        display_name=_str(info.get("displayName")),
        description=_str(info.get("description")),
        unknown_fields=tuple(sorted(set(canonical) - KNOWN_FIELDS)),
    )


def _check_schema_version(value: Any, where: str) -> None:
    """Refuse a schema this reader does not know; a spec that names none is read as 2.x."""
    if value is None or value in SCHEMA_VERSIONS:
        return
    raise BadInputError(
        f"{where}: schemaVersion {value!r} is not understood "
        f"(understood: {', '.join(SCHEMA_VERSIONS)})"
    )


def version_id(spec: Mapping[str, Any], platform_spec: Mapping[str, Any] | None) -> str:
    """The pipeline version's id: the whole document KFP would run, platform spec included.

    Two specs that differ only in their platform spec (a secret, a node selector) run
    differently, so they are two versions. A spec with no platform config keeps the id
    of its pipeline spec alone (the id every earlier release gave it), so that the same
    spec arriving as a file or from the KFP API, which sends an empty platform spec,
    is one version.
    """
    if platform_spec is None or not _has_platform_config(platform_spec):
        return model.spec_id(spec)
    return model.spec_id({"pipeline_spec": spec, "platform_spec": platform_spec})


def _has_platform_config(value: Any) -> bool:
    """Whether a platform spec sets anything: nested empty mappings are protobuf's absent
    messages (``{"platforms": {}}`` from the API), which configure nothing."""
    if isinstance(value, Mapping):
        return any(_has_platform_config(item) for item in value.values())
    if isinstance(value, list):
        return bool(value)  # an empty repeated field is absent too
    return value is not None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _task_info(task: ir.IrTask, executors: Mapping[str, Any], where: str) -> TaskInfo:
    task_info = ir.mapping(task.spec.get("taskInfo"), f"{where}: taskInfo of task {task.path}")
    name = _str(task_info.get("name")) or task.key
    policy = ir.mapping(task.spec.get("triggerPolicy"), f"{where}: task {task.path}")
    common: dict[str, Any] = {
        "path": task.path,
        "name": name,
        "parent": task.parent,
        "component": task.component,
        "condition": _str(policy.get("condition")),
        "loop": "parameterIterator" in task.spec or "artifactIterator" in task.spec,
    }
    if "dag" in task.component_spec:
        return TaskInfo(executor=None, kind="dag", **common)
    label = ir.executor_label(task.component_spec)
    if label is None or label not in executors:
        raise BadInputError(
            f"{where}: task {task.path} runs executor {label!r}, which deploymentSpec lacks"
        )
    executor = ir.mapping(executors[label], f"{where}: executor {label}")
    kind = ir.executor_kind(executor)
    if kind != "container":
        return TaskInfo(executor=label, kind=kind, **common)
    container = ir.mapping(executor["container"], f"{where}: executor {label}.container")
    image = _str(container.get("image"))
    source = ir.lightweight_source(container)
    return TaskInfo(
        executor=label,
        kind=kind,
        image=image,
        pinned=ir.is_pinned(image) if image else None,
        source_digest=f"sha256:{model.sha256_hex(source.encode())}" if source else None,
        **common,
    )


# --- recording ---------------------------------------------------------------


def pipeline_context(name: str, namespace: str | None = None) -> Context:
    """KFP's ``system.Pipeline`` context, named after ``pipelineInfo.name``."""
    return Context(id=model.pipeline_id(name, namespace), type=KfpType.PIPELINE, name=name)


def version_context(info: PipelineSpecInfo, namespace: str | None = None) -> Context:
    props: dict[str, model.PropertyValue] = {
        "pipeline_name": info.pipeline,
        "pipeline_spec": model.canonical_json(info.spec).decode(),
        "images": {"images": [i.as_dict() for i in info.images]},
        "source_digests": info.source_digests,
        "tasks": {"tasks": [t.as_dict() for t in info.tasks]},
    }
    if info.platform_spec is not None:
        props["platform_spec"] = model.canonical_json(info.platform_spec).decode()
    for key, value in (
        ("sdk_version", info.sdk_version),
        ("schema_version", info.schema_version),
        ("display_name", info.display_name),
        ("description", info.description),
    ):
        if value is not None:
            props[key] = value
    if info.unknown_fields:
        props["unknown_fields"] = {"fields": list(info.unknown_fields)}
    return Context(
        id=info.id,
        type=LineageType.PIPELINE_VERSION,
        name=info.id,
        properties=props,
        parents=(model.pipeline_id(info.pipeline, namespace),),
    )


def spec_record(info: PipelineSpecInfo, namespace: str | None = None) -> RunRecord:
    """The pipeline context and the pipeline version context (a child of the pipeline)."""
    return RunRecord(
        contexts=(pipeline_context(info.pipeline, namespace), version_context(info, namespace))
    )


def keep_stored_properties(store: MetadataStore, record: RunRecord) -> RunRecord:
    """The record, its contexts carrying what other sources already stored on them.

    MLMD replaces a node's properties on update; a pipeline context or version
    that the KFP API ingest enriched must not lose those facts when a spec or a
    local run is recorded again. What this record says wins.
    """
    stored = {c.id: c for c in store.get_contexts([c.id for c in record.contexts])}
    contexts = []
    for ctx in record.contexts:
        old = stored.get(ctx.id)
        if old is not None and set(old.properties) - set(ctx.properties):
            ctx = Context(
                ctx.id, ctx.type, ctx.name, {**old.properties, **ctx.properties}, ctx.parents
            )
        contexts.append(ctx)
    return RunRecord(tuple(contexts), record.executions, record.artifacts, record.events)


def spec_unit(store: MetadataStore, info: PipelineSpecInfo, namespace: str | None = None) -> Unit:
    """A pipeline version as one unit; writing the same spec again changes nothing."""
    build = partial(_stored_spec_record, store, info, namespace)
    return Unit(f"spec:{info.id}", info.id, build)


def _stored_spec_record(
    store: MetadataStore, info: PipelineSpecInfo, namespace: str | None
) -> RunRecord:
    return keep_stored_properties(store, spec_record(info, namespace))


def write_spec(
    store: MetadataStore, info: PipelineSpecInfo, namespace: str | None = None
) -> WriteResult:
    """Record a pipeline version; writing the same spec again changes nothing."""
    return write_together(store, [spec_unit(store, info, namespace)])
