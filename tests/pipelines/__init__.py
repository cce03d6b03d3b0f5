"""Pipelines the tests compile themselves with the kfp SDK (kfp 2.13).

``PIPELINES`` names each one; ``compile_all`` writes them as KFP IR YAML.
Together they cover importers, ParallelFor loops, dsl.If/Elif/Else and
dsl.Condition, exit handlers, nested pipelines, every ``system.*`` artifact
type, container components, containerized and lightweight Python components,
pinned and tagged images, and task options.
"""

from pathlib import Path
from typing import Any

from tests.pipelines import basic, flow

PIPELINES: dict[str, Any] = {
    "hello": basic.hello,
    "container-only": basic.container_only,
    "container-pinned": basic.container_pinned,
    "train-chain": basic.train_chain,
    "importer-constant": basic.importer_constant,
    "importer-param": basic.importer_param,
    "all-system-types": basic.all_system_types,
    "containerized-python": basic.containerized_python,
    "named-outputs": basic.named_outputs,
    "task-options": basic.task_options,
    "mixed-components": basic.mixed_components,
    "loop-static": flow.loop_static,
    "loop-collected": flow.loop_collected,
    "loop-nested": flow.loop_nested,
    "condition-if-elif-else": flow.condition_if_elif_else,
    "condition-legacy": flow.condition_legacy,
    "exit-handler": flow.exit_handler,
    "inner-data": flow.inner_data,
    "nested": flow.nested,
    "middle": flow.middle,
    "deeply-nested": flow.deeply_nested,
    "oneof": flow.oneof,
}


def compile_all(directory: Path) -> dict[str, Path]:
    """Compile every pipeline into ``directory``; the YAML file of each, by name."""
    from kfp import compiler

    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for name, pipeline in PIPELINES.items():
        path = directory / f"{name}.yaml"
        compiler.Compiler().compile(pipeline, package_path=str(path))
        out[name] = path
    return out
