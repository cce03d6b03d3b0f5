"""``lineage ingest kfp``: pipeline versions and run-level facts from KFP's v2beta1 API.

Units, each written in one transaction:

- a pipeline version: its ``pipeline_spec`` (unwrapped from ``{pipeline_spec,
  platform_spec}``) recorded by the spec ingest's own ``spec_record``, with the KFP ids
  that name it added to the version and pipeline contexts;
- a recurring run: its trigger, mode and status, as a node of its own (api_triggers),
  read again when it changes;
- a run: the API's facts (state, runtime config, version, experiment, recurring run,
  times, error) joined onto the run's ``system.PipelineRun`` context, merged with what
  the MLMD ingest recorded there, with the recurring run that started it as a parent;
  and, from releases without MLMD, its native tasks and artifacts as lineage (see
  api_tasks).

Incremental (store state ``ingest:kfp:<endpoint>``): versions are immutable and read
once; runs are read when created since the last high-water mark, or when a run that was
not finished (or sat on the mark) changed its state, end, error or tasks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from lineage.errors import BadInputError, NotFoundError
from lineage.ingest.kfp_api import runs as api_runs
from lineage.ingest.kfp_api import triggers as api_triggers
from lineage.ingest.kfp_api.client import KfpApiClient
from lineage.ingest.kfp_api.tasks import spec_tasks, task_nodes
from lineage.ingest.report import IngestReport
from lineage.ingest.spec import keep_stored_properties, parse_spec, pipeline_context, spec_record
from lineage.ingest.units import Progress, Unit, write_units
from lineage.model import (
    Context,
    PropertyValue,
    RunRecord,
    pipeline_id,
    recurring_run_id,
    run_id,
)
from lineage.store.port import MetadataStore, WriteResult


def watermark_key(endpoint: str, namespace: str | None) -> str:
    return f"ingest:kfp:{endpoint.rstrip('/')}" + (f"#{namespace}" if namespace else "")


def _moment(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def unwrap_spec(spec: Any, where: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The pipeline spec and platform spec of a version, as the API may wrap them."""
    if not isinstance(spec, dict) or not spec:
        raise BadInputError(f"{where}: the API gave no pipeline_spec")
    inner = spec.get("pipeline_spec")
    if isinstance(inner, dict):
        platform = spec.get("platform_spec")
        return inner, platform if isinstance(platform, dict) and platform else None
    return spec, None


class KfpApiIngest:
    def __init__(
        self,
        client: KfpApiClient,
        store: MetadataStore,
        *,
        namespace: str | None = None,
        full: bool = False,
    ) -> None:
        self.client = client
        self.store = store
        self.namespace = namespace
        self.full = full
        self.key = watermark_key(client.endpoint, namespace)
        self.report = IngestReport(f"kfp {client.endpoint}")
        self.has_records = False
        self._known = 0
        # KFP version id -> (spec id, pipelineInfo.name), for versions in the store.
        self.versions: dict[str, tuple[str, str]] = {}
        # Looked up by id when a run names them (read once per ingest).
        self.experiments: dict[str, dict[str, Any]] = {}
        self.recurring: dict[str, dict[str, Any]] = {}

    # --- the run of one ingest ------------------------------------------------

    def run(self, progress: Progress | None = None) -> IngestReport:
        state = {} if self.full else (self.store.get_state(self.key) or {})
        self.versions = {k: (v[0], v[1]) for k, v in state.get("versions", {}).items()}
        space = {"namespace": self.namespace}
        self.experiments = {
            str(e.get("experiment_id")): e
            for e in self.client.pages("experiments", "experiments", space)
        }
        self.recurring = {
            str(r.get("recurring_run_id")): r
            for r in self.client.pages("recurringruns", ("recurringRuns", "recurring_runs"), space)
            if r.get("recurring_run_id")
        }
        pending: dict[str, tuple[str, str, str]] = {}  # unit key -> version id, spec, pipeline
        units = list(self._version_units(pending))
        schedules = {rid: api_triggers.fingerprint(r) for rid, r in self.recurring.items()}
        known_schedules: dict[str, str] = dict(state.get("recurring_runs", {}))
        units += [
            self._recurring_unit(self.recurring[rid])
            for rid, fp in sorted(schedules.items())
            if known_schedules.get(rid) != fp
        ]
        runs, hwm, seen = self._changed_runs(state)
        self._known = len(units) + len(runs)
        self.has_records = bool(units or runs)

        def written(unit: Unit, _result: WriteResult) -> None:
            if unit.key in pending:
                version, spec, pipeline = pending[unit.key]
                if version:
                    self.versions[version] = (spec, pipeline)

        failed = write_units(
            self.store,
            self._all_units(units, runs, pending),
            self.report,
            total=lambda: self._known,
            progress=progress,
            on_written=written,
        )
        failed_runs = sorted(u.key.removeprefix("run:") for u in failed if u.key.startswith("run:"))
        failed_keys = {u.key for u in failed}
        value = {
            "versions": {k: list(v) for k, v in sorted(self.versions.items())},
            # A schedule is read again when it changes (mode, status, trigger...).
            "recurring_runs": {
                rid: fp
                for rid, fp in sorted(schedules.items())
                if f"recurring:{rid}" not in failed_keys
            },
            "runs_created_since": hwm,
            # Runs that may still change: not finished, on the mark, or failed here.
            "seen": {k: v for k, v in seen.items() if k not in failed_runs},
            "retry": failed_runs,
        }
        if self.store.get_state(self.key) != value:
            self.store.put_state(self.key, value)
        return self.report

    def _all_units(
        self, versions: list[Unit], runs: list[dict[str, Any]], pending: dict[str, Any]
    ) -> Iterator[Unit]:
        yield from versions
        for run in runs:
            yield from self._run_units(run, pending)

    # --- recurring runs ---------------------------------------------------------

    def _recurring_unit(self, recurring: Mapping[str, Any]) -> Unit:
        rid = str(recurring.get("recurring_run_id"))
        context = api_triggers.recurring_run_context(recurring, self.namespace)
        return Unit(f"recurring:{rid}", context.id, lambda: RunRecord((context,)))

    def _trigger_of(self, run: Mapping[str, Any]) -> Context | None:
        """The recurring run that started ``run``, as its record must carry it."""
        rid = str(run.get("recurring_run_id") or "")
        if not rid:
            return None
        if rid in self.recurring:
            return api_triggers.recurring_run_context(self.recurring[rid], self.namespace)
        stored = self.store.get_contexts([recurring_run_id(rid)])
        if stored:
            return stored[0]
        space = str(run.get("namespace") or self.namespace or "")
        return api_triggers.unlisted_context(rid, space or None)

    # --- pipeline versions ----------------------------------------------------

    def _version_units(self, pending: dict[str, tuple[str, str, str]]) -> Iterator[Unit]:
        for pipeline in self.client.pages("pipelines", "pipelines", {"namespace": self.namespace}):
            pid = str(pipeline.get("pipeline_id") or "")
            if not pid:
                continue
            for version in self.client.pages(f"pipelines/{pid}/versions", "pipeline_versions"):
                vid = str(version.get("pipeline_version_id") or "")
                if vid and vid not in self.versions:
                    yield self._version_unit(pipeline, version, pending)

    def _version_unit(
        self,
        pipeline: Mapping[str, Any],
        version: Mapping[str, Any],
        pending: dict[str, tuple[str, str, str]],
        key: str | None = None,
    ) -> Unit:
        vid = str(version.get("pipeline_version_id") or "")
        key = key or f"version:{vid}"
        label = f"pipeline version {vid}" if vid else key
        return Unit(key, label, partial(self._version_record, pipeline, version, pending, key))

    def _version_record(
        self,
        pipeline: Mapping[str, Any],
        version: Mapping[str, Any],
        pending: dict[str, tuple[str, str, str]],
        key: str,
    ) -> RunRecord:
        vid = str(version.get("pipeline_version_id") or "")
        pid = str(version.get("pipeline_id") or pipeline.get("pipeline_id") or "")
        where = f"pipeline version {vid}" if vid else key
        spec = version.get("pipeline_spec")
        if not spec and vid and pid:
            spec = self.client.get(f"pipelines/{pid}/versions/{vid}").get("pipeline_spec")
        pipeline_spec, platform = unwrap_spec(spec, where)
        info = parse_spec(pipeline_spec, platform, source=where)
        record = spec_record(info)
        pending[key] = (vid, info.id, info.pipeline)
        if not vid:
            return keep_stored_properties(self.store, record)
        facts: dict[str, PropertyValue] = {
            k: str(v)
            for k, v in (
                ("pipeline_id", pid),
                ("pipeline", pipeline.get("display_name")),
                ("display_name", version.get("display_name")),
                ("created_at", version.get("created_at")),
            )
            if v
        }
        stored = {c.id: c for c in self.store.get_contexts([c.id for c in record.contexts])}
        contexts = []
        for ctx in record.contexts:
            # One spec may be uploaded as several KFP versions: keep every name it has.
            field, entry = (
                ("kfp_pipeline_versions", {vid: facts})
                if ctx.id == info.id
                else ("kfp_pipelines", {pid: {"display_name": facts.get("pipeline", "")}})
            )
            old = stored[ctx.id].properties.get(field) if ctx.id in stored else None
            merged = {**(old if isinstance(old, dict) else {}), **entry}
            contexts.append(
                Context(ctx.id, ctx.type, ctx.name, {**ctx.properties, field: merged}, ctx.parents)
            )
        return keep_stored_properties(self.store, RunRecord(tuple(contexts)))

    # --- runs -------------------------------------------------------------------

    def _changed_runs(
        self, state: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None, dict[str, str]]:
        """Runs to read now, the new high-water mark, and the fingerprints to keep."""
        since = state.get("runs_created_since")
        since_at = _moment(since)
        seen: dict[str, str] = dict(state.get("seen", {}))
        retry = set(state.get("retry", []))
        params: dict[str, Any] = {"namespace": self.namespace}
        if since:
            params["filter"] = api_runs.filter_created_since(str(since))
        listed: dict[str, dict[str, Any]] = {}
        for run in self.client.pages("runs", "runs", params):
            created = _moment(run.get("created_at"))
            rid = str(run.get("run_id") or "")
            # The server's filter has second granularity; ours keeps what it let through.
            if rid and (since_at is None or created is None or created >= since_at):
                listed[rid] = run
        for rid in sorted((set(seen) | retry) - set(listed)):
            try:
                listed[rid] = self.client.get(f"runs/{rid}")
            except NotFoundError:
                seen.pop(rid, None)
                self.report.skip(run_id(rid), "no longer on the server")
        moments = [m for m in (_moment(r.get("created_at")) for r in listed.values()) if m]
        newest = max(moments, default=since_at)
        hwm = since
        for run in listed.values():
            if _moment(run.get("created_at")) == newest:
                hwm = str(run.get("created_at"))
        changed: list[dict[str, Any]] = []
        keep: dict[str, str] = {}
        for rid, run in sorted(
            listed.items(), key=lambda kv: (str(kv[1].get("created_at")), kv[0])
        ):
            fp = api_runs.fingerprint(run)
            if seen.get(rid) != fp or rid in retry:
                changed.append(run)
            if (
                str(run.get("state")) not in api_runs.TERMINAL
                or _moment(run.get("created_at")) == newest
            ):
                keep[rid] = fp
        return changed, hwm, keep

    def _run_units(self, run: dict[str, Any], pending: dict[str, Any]) -> Iterator[Unit]:
        rid = str(run["run_id"])
        _, vid = api_runs.version_reference(run)
        inline = run.get("pipeline_spec")
        if inline:
            key = f"inline:{rid}"
            self._known += 1
            yield self._version_unit({}, {"pipeline_spec": inline}, pending, key)
        elif vid and vid not in self.versions:
            pid, _ = api_runs.version_reference(run)
            try:
                version = self.client.get(f"pipelines/{pid}/versions/{vid}") if pid else {}
            except NotFoundError:
                version = {}
            if version:
                self._known += 1
                yield self._version_unit({"pipeline_id": pid}, version, pending)
        yield Unit(f"run:{rid}", run_id(rid), partial(self._run_record, run, pending))

    def _run_record(self, run: dict[str, Any], pending: Mapping[str, Any]) -> RunRecord:
        rid = str(run["run_id"])
        if not run.get("tasks") and int(run.get("task_count") or 0) > 0:
            run = self.client.get(f"runs/{rid}")  # a list view may leave the tasks out
        _, vid = api_runs.version_reference(run)
        version = self.versions.get(vid) if vid else None
        inline = pending.get(f"inline:{rid}")
        if inline is not None:
            version = (inline[1], inline[2])
        parents: tuple[str, ...] = ()
        pipeline_ctx: Context | None = None
        declared: dict[str, Any] = {}
        version_ctx = self.store.get_contexts([version[0]]) if version is not None else []
        if version is not None and version_ctx:
            declared = spec_tasks(version_ctx[0].properties.get("tasks"))
            parents = (pipeline_id(version[1]), version[0])
            found = self.store.get_contexts([pipeline_id(version[1])])
            pipeline_ctx = found[0] if found else pipeline_context(version[1])
        trigger = self._trigger_of(run)
        if trigger is not None:
            parents = (*parents, trigger.id)
        stored = self.store.get_contexts([run_id(rid)])
        props = api_runs.run_properties(run, self.experiments, self.recurring)
        ctx = api_runs.run_context(
            run, props, parents, stored[0] if stored else None, self.namespace
        )
        tasks = run.get("tasks") or []
        # The recurring run goes first: a context's parents are written before it.
        above = (trigger,) if trigger is not None else ()
        if not tasks:
            return RunRecord((*above, ctx))
        space = ctx.properties.get("namespace")
        executions, artifacts, events = task_nodes(
            rid, tasks, declared, space if isinstance(space, str) else None
        )
        # KFP attributes every node to the pipeline and to the run.
        contexts = (*((pipeline_ctx,) if pipeline_ctx is not None else ()), *above, ctx)
        return RunRecord(contexts, tuple(executions), tuple(artifacts), tuple(events))
