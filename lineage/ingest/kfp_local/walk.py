"""Running a compiled pipeline with kfp.local, one task at a time, watching each task.

kfp.local's own pipeline runner (``dag_orchestrator.run_dag``) returns only the
pipeline's outputs: it does not say which task ran, with which inputs, or which
one failed and why. So this module walks the DAG itself, in kfp.local's order
(``graph_utils.topological_sort_tasks``), and hands every task to the very
functions kfp.local uses for it: ``dag_orchestrator.make_task_arguments``,
``task_dispatcher.run_single_task_implementation`` and
``importer_handler.run_importer``. Those are module-level functions of
kfp 2.13's kfp.local, not its documented API; kfp is pinned to 2.13.x.

One deliberate difference: kfp.local names a task's output directory after its
*component*, so two tasks of one component overwrite each other's outputs. Here
each task writes under its own path, ``<root>/<run id>/<task path>/<key>``, as
the KFP backend writes under the task name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import json_format
from kfp import dsl
from kfp.local import (
    dag_orchestrator,
    executor_input_utils,
    graph_utils,
    importer_handler,
    status,
    task_dispatcher,
    utils,
)
from kfp.local import io as local_io

from lineage import model
from lineage.ingest.kfp_local.digest import digest_of
from lineage.ingest.kfp_local.facts import ObservedArtifact, ObservedTask, TaskKind
from lineage.ingest.kfp_local.output import OutputTail
from lineage.ingest.kfp_local.runners import ContainerRunner
from lineage.model import ExecutionState

# kfp.local strips this prefix from a component name to name the task's directory.
_COMPONENT_PREFIX = "comp-"


def _is_artifact(value: Any) -> bool:
    return isinstance(value, dsl.Artifact) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dsl.Artifact) for v in value)
    )


def _artifacts(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


# Called with a task's path and its input artifacts (key, uid, observation) before it runs.
BeforeTask = Callable[[str, list[tuple[str, str, ObservedArtifact]]], None]


class LocalWalker:
    """Runs one pipeline's DAGs; ``tasks`` and ``artifacts`` hold what it saw."""

    def __init__(
        self,
        spec: Any,  # pipeline_spec_pb2.PipelineSpec
        run_id: str,
        job_id: str,
        pipeline_root: str,
        runner: Any,
        tail: OutputTail,
        before_task: BeforeTask | None = None,
        task_runner: ContainerRunner | None = None,
    ) -> None:
        self.spec = spec
        self.task_runner = task_runner  # None: kfp.local's own handler for ``runner``
        self.before_task = before_task
        self.run_id = run_id
        self.job_id = job_id
        self.pipeline_root = pipeline_root
        self.runner = runner
        self.tail = tail
        self.executors = {
            name: utils.struct_to_executor_spec(executor)
            for name, executor in spec.deployment_spec["executors"].items()
        }
        self.components = dict(spec.components.items())
        self.order: list[str] = []  # task paths in the order they started
        self.tasks: dict[str, ObservedTask] = {}
        self.artifacts: dict[str, ObservedArtifact] = {}
        self._uids: dict[int, str] = {}  # id() of a dsl.Artifact -> its uid in this run
        self._alive: list[Any] = []  # keeps those objects (and so their id()) alive

    # --- the run -----------------------------------------------------------------

    def run(self, arguments: Mapping[str, Any]) -> tuple[ExecutionState, str | None]:
        root = self.spec.root
        args = dag_orchestrator.join_user_inputs_and_defaults(
            dag_arguments=dict(arguments), dag_inputs_spec=root.input_definitions
        )
        self.order.append("")
        _, error = self._run_dag(root, args, prefix="", parent="")
        state = ExecutionState.FAILED if error else ExecutionState.COMPLETE
        self.tasks[""] = ObservedTask(
            path="",
            key="",
            display_name=self.run_id,
            kind="root",
            parent=None,
            state=state,
            inputs=_params(args),
            error=error,
            total_tasks=len(root.dag.tasks),
        )
        return state, error

    def observed(self) -> tuple[ObservedTask, ...]:
        return tuple(self.tasks[path] for path in self.order if path in self.tasks)

    def _run_dag(
        self, component: Any, arguments: Mapping[str, Any], prefix: str, parent: str
    ) -> tuple[dict[str, Any], str | None]:
        """Run a DAG's tasks in kfp.local's order; stop at the first failure, as kfp.local does."""
        store = local_io.IOStore()
        for key, value in arguments.items():
            store.put_parent_input(key, value)
        tasks = component.dag.tasks
        pending = graph_utils.topological_sort_tasks(tasks)
        while pending:
            key = pending.pop()
            outputs, error = self._run_task(key, tasks[key], store, prefix, parent)
            if error is not None:  # the task carries the details; its DAG names it
                return {}, f"task {prefix}{key} failed"
            for name, value in outputs.items():
                store.put_task_output(key, name, value)
        try:
            return dag_orchestrator.get_dag_outputs(component.dag.outputs, store), None
        except Exception as exc:  # e.g. dsl.OneOf, which kfp.local cannot resolve
            return {}, f"the DAG's outputs could not be resolved: {type(exc).__name__}: {exc}"

    def _run_task(
        self, key: str, task: Any, store: Any, prefix: str, parent: str
    ) -> tuple[dict[str, Any], str | None]:
        path = f"{prefix}{key}"
        self.order.append(path)
        component = self.components[task.component_ref.name]
        is_dag = component.WhichOneof("implementation") == "dag"
        executor = None if is_dag else self.executors[component.executor_label]
        # run_pipeline refused executors other than containers and importers up front.
        kind: TaskKind = "dag" if executor is None else executor.WhichOneof("spec")
        base: dict[str, Any] = {
            "path": path,
            "key": key,
            "display_name": task.task_info.name or key,
        }
        error: str | None
        try:
            args = dag_orchestrator.make_task_arguments(task.inputs, store)
        except Exception as exc:
            error = f"its inputs could not be resolved: {type(exc).__name__}: {exc}"
            self._fail(base, kind, parent, error)
            return {}, error
        inputs = [
            (k, uid) for k, v in args.items() if _is_artifact(v) for uid in self._uids_of(k, v)
        ]
        if is_dag:
            outputs, error = self._run_dag(component, args, prefix=f"{path}/", parent=path)
            state = ExecutionState.FAILED if error else ExecutionState.COMPLETE
            self.tasks[path] = ObservedTask(
                **base,
                kind="dag",
                parent=parent,
                state=state,
                inputs=_params(args),
                input_artifacts=tuple(inputs),
                error=error,
                total_tasks=len(component.dag.tasks),
            )
            return outputs, error
        if kind == "importer":
            return self._run_importer(base, parent, component, executor, args)
        if self.before_task is not None:  # e.g. snapshot the inputs before the task can touch them
            self.before_task(
                path, [(k, uid, self.artifacts[uid]) for k, uid in inputs if uid in self.artifacts]
            )
        return self._run_container(base, parent, component, executor, args, inputs)

    def _run_container(
        self,
        base: dict[str, Any],
        parent: str,
        component: Any,
        executor: Any,
        args: dict[str, Any],
        inputs: list[tuple[str, str]],
    ) -> tuple[dict[str, Any], str | None]:
        path = base["path"]
        self.tail.mark()
        task: dict[str, Any] = {
            "pipeline_resource_name": self.run_id,
            "component_name": _COMPONENT_PREFIX + path,  # one directory per task path
            "component_spec": component,
            "executor_spec": executor,
            "arguments": args,
            "pipeline_root": self.pipeline_root,
            "runner": self.runner,
            "raise_on_error": False,
            "block_input_artifact": False,
            "unique_pipeline_id": self.job_id,
        }
        ran = None
        try:
            if self.task_runner is None:
                outputs, result = task_dispatcher.run_single_task_implementation(**task)
            else:
                outputs, result = self.task_runner.run_container(path, **task)
                ran = self.task_runner.ran(path)
            error: str | None = None
            if result != status.Status.SUCCESS:
                error = (ran.failure if ran else None) or "the task exited non-zero"
                tail = self.tail.text()
                error += f"; its last output:\n{tail}" if tail else ""
        except Exception as exc:  # kfp.local refuses e.g. container components in a subprocess
            outputs, error = {}, f"{type(exc).__name__}: {exc}"
        produced = [] if error else self._observe_outputs(outputs, path, reimport=False)
        self.tasks[path] = ObservedTask(
            **base,
            kind="container",
            parent=parent,
            state=ExecutionState.FAILED if error else ExecutionState.COMPLETE,
            inputs=self._executor_inputs(component, args),
            outputs={} if error else _params(outputs),
            input_artifacts=tuple(inputs),
            output_artifacts=tuple(produced),
            image=executor.container.image or None,
            error=error,
            ran_image=ran.image if ran else None,
            runner_properties=dict(ran.properties) if ran else {},
        )
        return (outputs if not error else {}), error

    def _run_importer(
        self,
        base: dict[str, Any],
        parent: str,
        component: Any,
        executor: Any,
        args: dict[str, Any],
    ) -> tuple[dict[str, Any], str | None]:
        path = base["path"]
        try:
            outputs, _ = importer_handler.run_importer(
                pipeline_resource_name=self.run_id,
                component_name=_COMPONENT_PREFIX + path,
                component_spec=component,
                executor_spec=executor,
                arguments=args,
                pipeline_root=self.pipeline_root,
                unique_pipeline_id=self.job_id,
            )
            error: str | None = None
        except Exception as exc:
            outputs, error = {}, f"{type(exc).__name__}: {exc}"
        reimport = bool(executor.importer.reimport)
        produced = [] if error else self._observe_outputs(outputs, path, reimport=reimport)
        self.tasks[path] = ObservedTask(
            **base,
            kind="importer",
            parent=parent,
            state=ExecutionState.FAILED if error else ExecutionState.COMPLETE,
            output_artifacts=tuple(produced),
            error=error,
        )
        return outputs, error

    def _fail(self, base: dict[str, Any], kind: TaskKind, parent: str, error: str) -> None:
        self.tasks[base["path"]] = ObservedTask(
            **base, kind=kind, parent=parent, state=ExecutionState.FAILED, error=error
        )

    # --- artifacts and parameters -----------------------------------------------

    def _observe_outputs(
        self, outputs: Mapping[str, Any], path: str, reimport: bool
    ) -> list[tuple[str, str]]:
        produced: list[tuple[str, str]] = []
        for key, value in outputs.items():
            if not _is_artifact(value):
                continue
            for artifact in _artifacts(value):
                qualifier = f"{self.run_id}/{path}" if reimport else None
                uid = model.artifact_id(artifact.uri, qualifier)
                if uid not in self.artifacts:  # a URI this run already wrote keeps its facts
                    fact = digest_of(artifact.uri)
                    self.artifacts[uid] = ObservedArtifact(
                        key=key,
                        type=artifact.schema_title,
                        uri=artifact.uri,
                        metadata=dict(artifact.metadata or {}),
                        digest=fact.digest,
                        digest_kind=fact.kind,
                        digest_absent=fact.absent,
                        reimport=reimport,
                    )
                self._uids[id(artifact)] = uid
                self._alive.append(artifact)
                produced.append((key, uid))
        return produced

    def _uids_of(self, key: str, value: Any) -> list[str]:
        uids = []
        for artifact in _artifacts(value):
            if id(artifact) not in self._uids:  # not an output of this run: named by its URI
                self._observe_outputs({key: artifact}, "", reimport=False)
            uids.append(self._uids[id(artifact)])
        return uids

    def _executor_inputs(self, component: Any, args: Mapping[str, Any]) -> dict[str, Any]:
        """The parameter values the task's executor input carried (KFP's ``inputs`` struct)."""
        try:
            executor_input = executor_input_utils.construct_executor_input(
                component_spec=component,
                arguments=dict(args),
                task_root="",
                block_input_artifact=False,
            )
        except Exception:  # the task itself reported this failure
            return _params(args)
        values = json_format.MessageToDict(executor_input.inputs).get("parameterValues", {})
        return dict(values) if isinstance(values, dict) else {}


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values only (artifacts are events, not properties)."""
    return {k: v for k, v in values.items() if not _is_artifact(v)}
