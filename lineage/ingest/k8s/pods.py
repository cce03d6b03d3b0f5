"""Pod statuses: which image digest really ran each KFP task.

KFP's v2 launcher runs a task in a pod labelled ``pipelines.kubeflow.org/v2_component=true``
and records ``pod_name`` and ``namespace`` on the task's execution. The kubelet writes the
digest it pulled into ``status.containerStatuses[name=main].imageID``: the only faithful
record of what ran. Pods are garbage-collected, so ``watch`` follows them as they start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lineage.errors import BadInputError, LineageError
from lineage.images.lineage import PodImage, image_record, pod_image_node
from lineage.ingest.k8s.client import api_error, read_json
from lineage.ingest.report import IngestReport
from lineage.ingest.units import EACH_UNIT_ALONE, Unit, write_units
from lineage.model import Execution, ImageSource, KfpType
from lineage.store.port import MetadataStore

LABEL_SELECTOR = "pipelines.kubeflow.org/v2_component=true"
MAIN_CONTAINER = "main"

Pod = Mapping[str, Any]


def pod_key(pod: Pod) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def main_image(pod: Pod) -> PodImage | None:
    """The main container's reported image, or None while the kubelet has not pulled it."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == MAIN_CONTAINER and status.get("imageID"):
            asked = status.get("image") or ""
            for container in (pod.get("spec") or {}).get("containers") or []:
                if container.get("name") == MAIN_CONTAINER and container.get("image"):
                    asked = container["image"]  # the spec keeps the tag the kubelet may rewrite
            return PodImage(image=str(asked), image_id=str(status["imageID"]))
    return None


@dataclass
class ExecutionIndex:
    """Container executions by (namespace, pod_name), reloaded when a pod is not found."""

    store: MetadataStore
    min_reload_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _by_pod: dict[tuple[str, str], Execution] = field(default_factory=dict)
    _loaded_at: float | None = None

    def reload(self) -> None:
        by_pod: dict[tuple[str, str], Execution] = {}
        token: str | None = None
        while True:
            page = self.store.list_executions(
                type=KfpType.CONTAINER_EXECUTION, page_size=500, page_token=token
            )
            for ex in page.items:
                name, ns = ex.properties.get("pod_name"), ex.properties.get("namespace")
                if isinstance(name, str) and name and isinstance(ns, str):
                    by_pod[(ns, name)] = ex
            token = page.next_page_token
            if token is None:
                break
        self._by_pod = by_pod
        self._loaded_at = self.clock()

    def find(self, namespace: str, pod_name: str) -> Execution | None:
        found = self._by_pod.get((namespace, pod_name))
        stale = self._loaded_at is None or self.clock() - self._loaded_at >= self.min_reload_s
        if found is None and stale:
            self.reload()
            found = self._by_pod.get((namespace, pod_name))
        return found


def record_pod(store: MetadataStore, index: ExecutionIndex, pod: Pod, report: IngestReport) -> bool:
    """Record one pod's main image against its task. False when it must be retried later."""
    namespace, name = pod_key(pod)
    unit = f"pod {namespace}/{name}"
    image = main_image(pod)
    if image is None:
        report.skip(unit, "the main container has no imageID yet; retried later")
        return False
    task = index.find(namespace, name)
    if task is None:
        report.skip(unit, "no recorded task has this pod_name and namespace yet; retried later")
        return False
    try:
        node = pod_image_node(image)
    except BadInputError as exc:
        report.skip(unit, f"{exc}: the runtime reports a local image id, not a registry digest")
        return True  # retrying cannot help: the runtime never reports more
    reference = image.image or image.image_id
    build = partial(image_record, task, node, ImageSource.POD, reference, store)
    write_units(store, [Unit(unit, unit, build)], report, failures=EACH_UNIT_ALONE)
    return True


def ingest_pods(store: MetadataStore, pods: Iterable[Pod], report: IngestReport) -> list[Pod]:
    """Record every pod; returns the pods left for a later pass."""
    index = ExecutionIndex(store)
    return [pod for pod in pods if not record_pod(store, index, pod, report)]


def list_pods(api: Any, namespace: str | None) -> tuple[list[dict[str, Any]], str]:
    """KFP's task pods and the list's resourceVersion (where a watch starts)."""
    try:
        if namespace:
            raw = api.list_namespaced_pod(
                namespace, label_selector=LABEL_SELECTOR, _preload_content=False
            )
        else:
            raw = api.list_pod_for_all_namespaces(
                label_selector=LABEL_SELECTOR, _preload_content=False
            )
    except Exception as exc:  # the client raises ApiException, urllib3 and socket errors
        raise api_error(exc, f"list pods ({LABEL_SELECTOR})") from exc
    doc = read_json(raw, "the pod list")
    version = str((doc.get("metadata") or {}).get("resourceVersion", ""))
    return list(doc.get("items") or []), version


@dataclass
class _Follower:
    """Records each pod event; pods left for later are retried once their task is known."""

    store: MetadataStore
    index: ExecutionIndex
    report: IngestReport
    on_event: Callable[[IngestReport], None] | None
    pending: dict[tuple[str, str], Pod] = field(default_factory=dict)

    def handle(self, pod: Pod) -> None:
        key = pod_key(pod)
        if record_pod(self.store, self.index, pod, self.report):
            self.pending.pop(key, None)
        else:
            self.pending[key] = pod
        for other_key, other in list(self.pending.items()):
            if other_key != key and self.index.find(*pod_key(other)) is not None:
                self.pending.pop(other_key)
                record_pod(self.store, self.index, other, self.report)
        if self.on_event is not None:
            self.on_event(self.report)


def watch_pods(
    store: MetadataStore,
    api: Any,
    namespace: str | None,
    report: IngestReport,
    seconds: float | None = None,
    on_event: Callable[[IngestReport], None] | None = None,
) -> None:
    """List, record, then follow pod events until ``seconds`` pass (forever when None).

    Pods left for later (no imageID, task not yet recorded) are retried on their next
    event and whenever the task index is reloaded.
    """
    from kubernetes import watch
    from kubernetes.client.exceptions import ApiException

    deadline = None if seconds is None else time.monotonic() + seconds
    handle = _Follower(store, ExecutionIndex(store), report, on_event).handle
    items, version = list_pods(api, namespace)
    for pod in items:
        handle(pod)
    fn = api.list_namespaced_pod if namespace else api.list_pod_for_all_namespaces
    args = (namespace,) if namespace else ()
    while deadline is None or time.monotonic() < deadline:
        left = 300 if deadline is None else max(1, int(deadline - time.monotonic()))
        stream = watch.Watch()
        events = 0
        try:
            for event in stream.stream(
                fn,
                *args,
                label_selector=LABEL_SELECTOR,
                resource_version=version,
                timeout_seconds=min(left, 300),
            ):
                obj = event.get("raw_object") or {}
                version = str((obj.get("metadata") or {}).get("resourceVersion", version))
                events += 1
                if event.get("type") in ("ADDED", "MODIFIED"):
                    handle(obj)
            if not events:  # a server that closes idle watches at once must not spin us
                time.sleep(0.2)
        except ApiException as exc:
            if exc.status != 410:
                raise api_error(exc, "watch pods") from exc
            items, version = list_pods(api, namespace)  # our resourceVersion expired: relist
            for pod in items:
                handle(pod)
        except LineageError:
            raise
        except Exception as exc:  # connection dropped: reconnect from the last version
            if deadline is not None and time.monotonic() >= deadline:
                break
            report.skips.append(("watch", f"reconnecting after {type(exc).__name__}: {exc}"))
            time.sleep(1.0)
