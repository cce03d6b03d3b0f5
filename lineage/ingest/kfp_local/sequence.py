"""Compile, run with kfp.local, record: the sequence ``lineage run`` and the demo share.

It is split where the store opens: ``prepare`` refuses a bad pipeline or argument
before any store is opened (and so before anything is created in LINEAGE_HOME), and
``run_and_record`` runs the prepared pipeline and records it into the store given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lineage.ingest.kfp_local.facts import LocalRun
from lineage.ingest.kfp_local.load import CompiledPipeline, compile_pipeline, parse_arguments
from lineage.ingest.kfp_local.run import check_runnable, record_local_run
from lineage.ingest.kfp_local.run import run_pipeline as run_locally
from lineage.store.port import MetadataStore, WriteResult

if TYPE_CHECKING:
    from lineage.ingest.kfp_local.runners import ContainerRunner
    from lineage.ingest.kfp_local.walk import BeforeTask


@dataclass(frozen=True, slots=True)
class Prepared:
    compiled: CompiledPipeline
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recorded:
    run: LocalRun
    written: WriteResult


def prepare(path: Path, attribute: str, raw_arguments: Sequence[str]) -> Prepared:
    """The compiled pipeline and its arguments, once kfp.local is known to run it."""
    compiled = compile_pipeline(path, attribute)
    arguments = parse_arguments(compiled.spec, raw_arguments)
    check_runnable(compiled)
    return Prepared(compiled, arguments)


def run_and_record(
    store: MetadataStore,
    prepared: Prepared,
    pipeline_root: Path,
    log: TextIO,
    before_task: BeforeTask | None = None,
    task_runner: ContainerRunner | None = None,
) -> Recorded:
    """Run it (kfp.local's output to ``log``) and record what ran, failed tasks included."""
    run = run_locally(
        prepared.compiled,
        prepared.arguments,
        pipeline_root,
        log,
        before_task,
        task_runner,
    )
    return Recorded(run, record_local_run(store, run, prepared.compiled.info))
