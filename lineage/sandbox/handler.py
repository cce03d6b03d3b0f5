"""kfp.local's task execution, with bubblewrap as the task handler.

The executor input, the placeholders and the outputs are kfp.local's own
(``executor_input_utils``, ``placeholder_utils``, ``executor_output_utils``), called as
``task_dispatcher.run_single_task_implementation`` calls them, so a task gets exactly the
command and arguments kfp.local would give it. Only the handler differs: kfp 2.13 looks
handlers up in a dict literal keyed by the runner's exact type, with no way to add one,
so this module plays the dispatcher's part for the sandbox instead of patching kfp.
``SandboxTaskHandler`` keeps kfp's ``ITaskHandler`` shape (image, full_command,
pipeline_root, runner; ``run() -> Status``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kfp import dsl
from kfp.local import (
    executor_input_utils,
    executor_output_utils,
    logging_utils,
    placeholder_utils,
    status,
)

from lineage.sandbox.bwrap import Sandbox, run_sandboxed


class SandboxTaskHandler:
    """Runs one task's resolved command in a prepared sandbox (kfp's ITaskHandler shape)."""

    def __init__(
        self, image: str, full_command: list[str], pipeline_root: str, runner: Any
    ) -> None:
        self.image = image
        self.full_command = full_command
        self.pipeline_root = pipeline_root
        self.runner = runner
        self.sandbox: Sandbox | None = None
        self.timeout_s: float | None = None
        self.timed_out = False

    def run(self) -> Any:
        assert self.sandbox is not None, "the runner gives the handler its sandbox"
        finished = run_sandboxed(self.sandbox.argv(self.full_command), self.timeout_s)
        self.timed_out = finished.timed_out
        if finished.timed_out:
            print(f"killed after {self.timeout_s:g}s: the task ran past its timeout")
        ok = finished.returncode == 0 and not finished.timed_out
        return status.Status.SUCCESS if ok else status.Status.FAILURE


def input_paths(arguments: Mapping[str, Any]) -> tuple[Path, ...]:
    """The local paths of a task's input artifacts: all the sandbox may read of the host."""
    paths: list[Path] = []
    for value in arguments.values():
        values = value if isinstance(value, list) else [value]
        for item in values:
            uri = item.uri if isinstance(item, dsl.Artifact) else ""
            if uri and os.path.isabs(uri) and os.path.exists(uri):
                paths.append(Path(uri))
    return tuple(dict.fromkeys(paths))


def run_task(
    handler_for: Any,  # (image, full_command, task_root, inputs) -> SandboxTaskHandler
    *,
    pipeline_resource_name: str,
    component_name: str,
    component_spec: Any,
    executor_spec: Any,
    arguments: dict[str, Any],
    pipeline_root: str,
    unique_pipeline_id: str,
    **_: Any,
) -> tuple[dict[str, Any], Any]:
    """``run_single_task_implementation`` with the sandbox as handler; (outputs, status)."""
    task_name = executor_input_utils.get_local_task_resource_name(component_name)
    task_root = executor_input_utils.construct_local_task_root(
        pipeline_root=pipeline_root,
        pipeline_resource_name=pipeline_resource_name,
        task_resource_name=task_name,
    )
    executor_input = executor_input_utils.construct_executor_input(
        component_spec=component_spec,
        arguments=arguments,
        task_root=task_root,
        block_input_artifact=False,
    )
    container = executor_spec.container
    full_command = placeholder_utils.replace_placeholders(
        full_command=[*container.command, *container.args],
        executor_input_dict=executor_input_utils.executor_input_to_dict(
            executor_input=executor_input, component_spec=component_spec
        ),
        pipeline_resource_name=pipeline_resource_name,
        task_resource_name=task_name,
        pipeline_root=pipeline_root,
        unique_pipeline_id=unique_pipeline_id,
    )
    os.makedirs(task_root, exist_ok=True)  # bound writable: it must exist first
    handler = handler_for(container.image, full_command, Path(task_root), input_paths(arguments))
    with logging_utils.local_logger_context():
        logging.info(f"Executing task {logging_utils.format_task_name(task_name)} in the sandbox")
        with logging_utils.indented_print():
            result = handler.run()
        outputs: dict[str, Any] = {}
        if result == status.Status.SUCCESS:
            outputs = executor_output_utils.get_outputs_for_task(
                executor_input=executor_input, component_spec=component_spec
            )
        logging_utils.print_horizontal_line()
    return outputs, result
