"""CSI volume snapshots of the PVCs that pipeline tasks mounted.

The spec ingest keeps a version's ``platform_spec`` (KFP's ``platforms.kubernetes``
section: ``deploymentSpec.executors.<label>.pvcMount``) and its ``tasks`` (path, name,
executor label). From them, each recorded container task gets an INPUT event to the
PVC it mounted, and each ready ``VolumeSnapshot`` of such a PVC becomes a
``lineage.Snapshot`` made from the PVC by a ``lineage.SnapshotExecution``, as the model's
snapshot convention says. A PVC is an artifact named ``pvc://<namespace>/<name>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from lineage.errors import LineageError
from lineage.ingest.k8s.client import api_error, read_json
from lineage.ingest.report import IngestReport
from lineage.ingest.units import EACH_UNIT_ALONE, Unit, write_units
from lineage.model import (
    SNAPSHOT_OUTPUT_KEY,
    SNAPSHOT_SOURCE_KEY,
    Artifact,
    Context,
    Event,
    EventType,
    Execution,
    ExecutionState,
    KfpType,
    LineageType,
    PropertyValue,
    RunRecord,
    artifact_id,
    snapshotting_id,
)
from lineage.store.port import MetadataStore, WriteResult

GROUP, VERSION = "snapshot.storage.k8s.io", "v1"
PVC_TYPE = "lineage.PersistentVolumeClaim"  # an artifact kind: the volume a task mounted
VOLUME_EVENT_KEY = "volume"  # Event(task, pvc, INPUT, ("volume", <mountPath>))
Obj = Mapping[str, Any]


def pvc_artifact(namespace: str, name: str) -> Artifact:
    uri = f"pvc://{namespace}/{name}"
    return Artifact(
        id=artifact_id(uri),
        type=PVC_TYPE,
        uri=uri,
        name=name,
        properties={"namespace": namespace, "claim_name": name},
    )


# --- which PVCs the tasks mounted -----------------------------------------------


def _json_property(ctx: Context, key: str) -> dict[str, Any]:
    value = ctx.properties.get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def executor_mounts(platform_spec: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    """``pvcMount`` lists by executor label, from a platform spec (with or without the
    ``platforms.kubernetes`` wrapping)."""
    node: Any = platform_spec
    for key in ("platforms", "kubernetes"):
        if isinstance(node, Mapping) and key in node:
            node = node[key]
    executors = (
        (node.get("deploymentSpec") or {}).get("executors") if isinstance(node, dict) else {}
    )
    out: dict[str, list[Mapping[str, Any]]] = {}
    for label, config in (executors or {}).items():
        mounts = config.get("pvcMount") if isinstance(config, Mapping) else None
        if mounts:
            out[str(label)] = [m for m in mounts if isinstance(m, Mapping)]
    return out


def _struct(ex: Execution, key: str) -> Mapping[str, Any]:
    value = ex.properties.get(key)
    return value if isinstance(value, dict) else {}


def claim_name(mount: Mapping[str, Any], task: Execution, run: Iterable[Execution]) -> str | None:
    """The PVC a mount names: a constant, the task's input parameter, or an upstream
    task's output parameter (read from the executions KFP recorded)."""
    if isinstance(mount.get("constant"), str):
        return str(mount["constant"])
    param = mount.get("pvcNameParameter") or {}
    runtime = (param.get("runtimeValue") or {}).get("constant")
    if isinstance(runtime, str):
        return runtime
    name = mount.get("componentInputParameter") or param.get("componentInputParameter")
    if isinstance(name, str):
        value = _struct(task, "inputs").get(name)
        return value if isinstance(value, str) else None
    producer = mount.get("taskOutputParameter") or param.get("taskOutputParameter")
    if isinstance(producer, Mapping):
        for ex in run:
            if ex.properties.get("task_name") == producer.get("producerTask"):
                value = _struct(ex, "outputs").get(str(producer.get("outputParameterKey")))
                return value if isinstance(value, str) else None
    return None


_ITERATION = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Mount:
    task: Execution
    pvc: Artifact
    path: str


def run_mounts(store: MetadataStore, run: Context) -> list[Mount]:
    """Every (task, PVC) mount of one recorded run, from its version's platform spec."""
    versions = [
        c for c in store.get_contexts(list(run.parents)) if c.type == LineageType.PIPELINE_VERSION
    ]
    if not versions:
        return []
    mounts_by_label = executor_mounts(_json_property(versions[0], "platform_spec"))
    if not mounts_by_label:
        return []
    tasks = _json_property(versions[0], "tasks").get("tasks", [])
    label_by_path = {str(t.get("path")): t.get("executor") for t in tasks if isinstance(t, dict)}
    label_by_name = {str(t.get("name")): t.get("executor") for t in tasks if isinstance(t, dict)}
    record = store.get_run(run.id)
    out: list[Mount] = []
    for task in record.executions:
        if task.type != KfpType.CONTAINER_EXECUTION:
            continue
        path = _ITERATION.sub("", task.id.partition("/")[2]) if task.id.startswith("task:") else ""
        label = label_by_path.get(path) or label_by_name.get(str(task.properties.get("task_name")))
        namespace = task.properties.get("namespace") or run.properties.get("namespace") or ""
        for mount in mounts_by_label.get(str(label), []):
            name = claim_name(mount, task, record.executions)
            if name and namespace:
                out.append(
                    Mount(task, pvc_artifact(str(namespace), name), str(mount.get("mountPath", "")))
                )
    return out


def mount_record(run: Context, mounts: list[Mount]) -> RunRecord:
    tasks = {m.task.id: m.task for m in mounts}
    pvcs = {m.pvc.id: m.pvc for m in mounts}
    events = tuple(
        dict.fromkeys(
            Event(m.task.id, m.pvc.id, EventType.INPUT, (VOLUME_EVENT_KEY, m.path)) for m in mounts
        )
    )
    return RunRecord((run,), tuple(tasks.values()), tuple(pvcs.values()), events)


# --- the snapshots -----------------------------------------------------------------

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_UNITS.update({"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60})


def quantity_bytes(value: Any) -> int | None:
    """A Kubernetes quantity (``1Gi``, ``500M``, ``1073741824``) in bytes."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kMGTPE]i?)?", str(value or "").strip())
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def snapshot_node(vs: Obj, content: Obj) -> Artifact:
    meta, status = vs.get("metadata") or {}, vs.get("status") or {}
    c_spec, c_status = content.get("spec") or {}, content.get("status") or {}
    driver, handle = str(c_spec.get("driver", "")), str(c_status.get("snapshotHandle", ""))
    size = quantity_bytes(c_status.get("restoreSize")) or quantity_bytes(status.get("restoreSize"))
    props: dict[str, PropertyValue] = {
        "kind": "csi",
        "volume_snapshot": f"{meta.get('namespace')}/{meta.get('name')}",
        "volume_snapshot_uid": str(meta.get("uid", "")),
        "volume_snapshot_content": str((content.get("metadata") or {}).get("name", "")),
        "volume_snapshot_class": str((vs.get("spec") or {}).get("volumeSnapshotClassName", "")),
        "snapshot_handle": handle,
        "driver": driver,
        "source_pvc": str(
            ((vs.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName", "")
        ),
        "ready_to_use": bool(status.get("readyToUse") and c_status.get("readyToUse", True)),
        "creation_time": str(status.get("creationTime", "")),
    }
    if size is not None:
        props["restore_size"] = size
    return Artifact(
        id=f"snapshot:csi:{driver}/{handle}",
        type=LineageType.SNAPSHOT,
        uri=f"csi://{driver}/{handle}",
        # MLMD keeps names unique per type: a bare name repeats across namespaces.
        name=f"{meta.get('namespace')}/{meta.get('name')}",
        properties=props,
    )


def snapshot_record(pvc: Artifact, snapshot: Artifact) -> RunRecord:
    act = Execution(
        id=snapshotting_id(pvc.id, snapshot.id),
        type=LineageType.SNAPSHOT_EXECUTION,
        state=ExecutionState.COMPLETE,
        properties={"source_uri": pvc.uri, "snapshot": snapshot.id, "kind": "csi"},
    )
    events = (
        Event(act.id, pvc.id, EventType.INPUT, (SNAPSHOT_SOURCE_KEY,)),
        Event(act.id, snapshot.id, EventType.OUTPUT, (SNAPSHOT_OUTPUT_KEY,)),
    )
    return RunRecord((), (act,), (pvc, snapshot), events)


def ingest_volumesnapshots(
    store: MetadataStore, snapshots: Iterable[Obj], contents: Iterable[Obj]
) -> IngestReport:
    """Link task mounts to PVCs, then each ready snapshot of a mounted PVC to its PVC."""
    report = IngestReport("volumesnapshots")
    mounted: set[str] = set()
    # The mount links are book-keeping, not units the report counts: only their failures are.
    links = IngestReport("volumesnapshots")
    pvcs: dict[str, list[str]] = {}  # by run id: the PVCs its tasks mounted, once written

    def written(unit: Unit, _result: WriteResult) -> None:
        mounted.update(pvcs.pop(unit.key, ()))

    units = _mount_units(store, pvcs)
    write_units(store, units, links, on_written=written, failures=EACH_UNIT_ALONE)
    for unit, message in links.failures:
        report.fail(unit, message)
    units = _snapshot_units(snapshots, contents, mounted, report)
    write_units(store, units, report, failures=EACH_UNIT_ALONE)
    return report


def _mount_units(store: MetadataStore, pvcs: dict[str, list[str]]) -> Iterator[Unit]:
    """One unit per recorded run: its tasks' mounts (nothing to write when it has none)."""

    def build(run: Context) -> RunRecord | None:
        mounts = run_mounts(store, run)
        if not mounts:
            return None
        pvcs[run.id] = [m.pvc.id for m in mounts]
        return mount_record(run, mounts)

    token: str | None = None
    while True:
        page = store.list_contexts(type=KfpType.PIPELINE_RUN, page_size=200, page_token=token)
        for run in page.items:
            yield Unit(run.id, f"run {run.id} mounts", partial(build, run))
        token = page.next_page_token
        if token is None:
            return


def _snapshot_units(
    snapshots: Iterable[Obj], contents: Iterable[Obj], mounted: set[str], report: IngestReport
) -> Iterator[Unit]:
    """One unit per ready snapshot of a mounted PVC; the others are skipped, with why."""
    by_name = {str((c.get("metadata") or {}).get("name")): c for c in contents}
    for vs in snapshots:
        meta, spec, status = vs.get("metadata") or {}, vs.get("spec") or {}, vs.get("status") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        unit = f"volumesnapshot {namespace}/{name}"
        claim = (spec.get("source") or {}).get("persistentVolumeClaimName")
        if not claim:
            report.skip(unit, "pre-provisioned: it names no source PVC")
            continue
        pvc = pvc_artifact(namespace, str(claim))
        if pvc.id not in mounted:
            report.skip(unit, f"PVC {namespace}/{claim} was not mounted by any recorded task")
            continue
        content = by_name.get(str(status.get("boundVolumeSnapshotContentName")))
        if not status.get("readyToUse") or content is None:
            report.skip(unit, "not ready to use yet (or no bound content); retried later")
            continue
        if not (content.get("status") or {}).get("snapshotHandle"):
            report.skip(unit, "its content has no snapshotHandle yet; retried later")
            continue
        yield Unit(unit, unit, partial(_snapshot_record_of, pvc, vs, content))


def _snapshot_record_of(pvc: Artifact, vs: Obj, content: Obj) -> RunRecord:
    return snapshot_record(pvc, snapshot_node(vs, content))


def read_snapshots(api_client: Any, namespace: str | None) -> tuple[list[Obj], list[Obj]]:
    """VolumeSnapshots (of one namespace or all) and every VolumeSnapshotContent."""
    from kubernetes import client

    api = client.CustomObjectsApi(api_client)
    try:
        if namespace:
            raw = api.list_namespaced_custom_object(
                GROUP, VERSION, namespace, "volumesnapshots", _preload_content=False
            )
        else:
            raw = api.list_cluster_custom_object(
                GROUP, VERSION, "volumesnapshots", _preload_content=False
            )
        snaps = read_json(raw, "volumesnapshots").get("items") or []
        raw = api.list_cluster_custom_object(
            GROUP, VERSION, "volumesnapshotcontents", _preload_content=False
        )
        contents = read_json(raw, "volumesnapshotcontents").get("items") or []
    except LineageError:
        raise
    except Exception as exc:  # ApiException, urllib3 and socket errors
        raise api_error(exc, "list volumesnapshots") from exc
    return list(snaps), list(contents)
