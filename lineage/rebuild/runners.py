"""The runners a rebuild can run a rewritten spec with, chosen by the environment's ``runner``.

A runner takes one rewritten spec, its arguments and the target's pipeline root, runs it,
records the run in the store as any other run of that runner is recorded, and returns
it. Each says whether it runs every task in the image its spec names: one that does not
gives its rebuilds the caveat ``image not enforced``.

``local`` is kfp.local's SubprocessRunner, through the very sequence ``lineage run``
uses (``ingest.kfp_local.sequence.run_and_record``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lineage.errors import ConfigError
from lineage.ingest import ir
from lineage.model import ExecutionState, canonical_json
from lineage.rebuild.compare import RebuiltRun
from lineage.rebuild.rewrite import Rewritten
from lineage.store.port import MetadataStore

IMAGE_NOT_ENFORCED = "image not enforced"


@dataclass(frozen=True, slots=True)
class Job:
    rewritten: Rewritten
    arguments: dict[str, Any]
    pipeline_root: Path
    store: MetadataStore
    log: TextIO


@dataclass(frozen=True, slots=True)
class Runner:
    name: str  # recorded as the rebuild's runner
    enforces_images: bool
    run: Callable[[Job], RebuiltRun]


def typed_arguments(spec: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The run's recorded parameters, typed as the spec declares them.

    A store keeps numbers as doubles (an MLMD struct), so an integer parameter comes back
    as ``3.0``; kfp.local wants ``3``."""
    root = ir.mapping(spec.get("root"), "root")
    inputs = ir.mapping(root.get("inputDefinitions"), "root.inputDefinitions")
    params = ir.mapping(inputs.get("parameters"), "root.inputDefinitions.parameters")
    typed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in params:
            continue  # a recorded value the spec no longer takes (none today)
        kind = ir.mapping(params[name], name).get("parameterType")
        if kind == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
            value = int(value)
        typed[name] = value
    return typed


def run_local(job: Job) -> RebuiltRun:
    """Run with kfp.local's SubprocessRunner and record it as ``lineage run`` does."""
    from lineage.ingest.kfp_local.load import CompiledPipeline
    from lineage.ingest.kfp_local.run import build_record
    from lineage.ingest.kfp_local.sequence import Prepared, run_and_record
    from lineage.ingest.spec import parse_spec

    spec, platform = job.rewritten.spec, job.rewritten.platform_spec
    where = job.rewritten.location or job.rewritten.digest
    info = parse_spec(spec, platform, source=where)
    text = canonical_json(spec).decode("utf-8")
    compiled = CompiledPipeline(Path(where), info.pipeline, text, spec, platform, info)
    done = run_and_record(job.store, Prepared(compiled, job.arguments), job.pipeline_root, job.log)
    record = build_record(job.store, done.run)
    failed = {
        t.path: t.error or "failed" for t in done.run.tasks if t.state == ExecutionState.FAILED
    }
    return RebuiltRun(done.run.run_id, record, failed)


# Runners by the name an environment gives (``LINEAGE_ENVIRONMENTS__<NAME>__RUNNER``).
RUNNERS: dict[str, Runner] = {
    "local": Runner("kfp.local.SubprocessRunner", enforces_images=False, run=run_local),
}


def runner_for(environment: str, name: str) -> Runner:
    found = RUNNERS.get(name)
    if found is None:
        known = ", ".join(sorted(RUNNERS))
        raise ConfigError(f"environment {environment!r}: no runner {name!r} (runners: {known})")
    return found
