"""``lineage images resolve --all``: every recorded task linked to the image it ran.

Pinned digests are linked as the task named them; tags are resolved through an OCI
registry (``lineage.images.client``), each reference once per call. The image nodes
and their events are built by ``lineage.images.lineage``; this source finds the tasks
that lack one and writes each link as one unit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial

from lineage.errors import LineageError
from lineage.images.client import Resolved
from lineage.images.lineage import image_node, image_record
from lineage.images.reference import ImageReference, parse_reference
from lineage.ingest.report import IngestReport
from lineage.ingest.units import EACH_UNIT_ALONE, Unit, write_units
from lineage.model import (
    IMAGE_EVENT_KEY,
    EventType,
    Execution,
    ImageSource,
    KfpType,
    LineageType,
    RunRecord,
    run_id,
)
from lineage.store.port import MetadataStore, WriteResult

IMAGE_PROPERTY = "image"  # KFP's custom property on container executions


def _spec_images(store: MetadataStore, run: str) -> dict[str, str]:
    """Images by task path and task name, from the spec of the version the run ran."""
    runs = store.get_contexts([run_id(run)])
    if not runs:
        return {}
    out: dict[str, str] = {}
    for version in store.get_contexts(list(runs[0].parents)):
        if version.type != LineageType.PIPELINE_VERSION:
            continue
        tasks = version.properties.get("tasks")
        for task in tasks.get("tasks", []) if isinstance(tasks, dict) else []:
            image = task.get("image") if isinstance(task, dict) else None
            if isinstance(image, str) and image:
                out[str(task.get("path"))] = image
                out.setdefault(f"name:{task.get('name')}", image)
    return out


def task_image(
    store: MetadataStore, task: Execution, specs: dict[str, dict[str, str]]
) -> str | None:
    """The image a task ran: KFP's ``image`` property, else the one its run's spec names.

    KFP leaves ``image`` empty on its executions; the spec ingest keeps each task's image
    on the pipeline version, found through the task id (``task:<run>/<path>``).
    """
    value = task.properties.get(IMAGE_PROPERTY)
    if isinstance(value, str) and value:
        return value
    if task.type != KfpType.CONTAINER_EXECUTION or not task.id.startswith("task:"):
        return None
    run, _, path = task.id[len("task:") :].partition("/")
    if run not in specs:
        specs[run] = _spec_images(store, run)
    images = specs[run]
    name = task.properties.get("task_name")
    return images.get(_ITERATION.sub("", path)) or images.get(f"name:{name}")


_ITERATION = re.compile(r"\[\d+\]")


def _unresolved(store: MetadataStore, report: IngestReport) -> Iterator[tuple[Execution, str]]:
    """Tasks that name an image and have no image event yet, with the image they name."""
    token: str | None = None
    specs: dict[str, dict[str, str]] = {}
    while True:
        page = store.list_executions(page_size=200, page_token=token)
        named = [(e, task_image(store, e, specs)) for e in page.items]
        named = [(e, image) for e, image in named if image]
        linked = {
            ev.execution
            for ev in store.get_events(execution_ids=[e.id for e, _ in named])
            if ev.type == EventType.INPUT and ev.path[:1] == (IMAGE_EVENT_KEY,)
        }
        for task, image in named:
            if task.id in linked:
                report.wrote(WriteResult(unchanged=1))
            else:
                yield task, str(image)
        token = page.next_page_token
        if token is None:
            return


class _Linker:
    """One task's image record: pinned as named, or a tag resolved once per call."""

    def __init__(self, store: MetadataStore, resolve: Callable[[ImageReference], Resolved]) -> None:
        self.store = store
        self.resolve = resolve
        self.cache: dict[ImageReference, Resolved | LineageError] = {}

    def record(self, task: Execution, text: str) -> RunRecord:
        ref = parse_reference(text)
        if ref.digest:
            node = image_node(ref, ref.digest)
            return image_record(task, node, ImageSource.PINNED, text, self.store)
        if ref not in self.cache:
            try:
                self.cache[ref] = self.resolve(ref)
            except LineageError as exc:
                self.cache[ref] = exc
        found = self.cache[ref]
        if isinstance(found, LineageError):
            raise found
        image = image_node(ref, found.digest, found)
        return image_record(task, image, ImageSource.REGISTRY, text, self.store)


def resolve_all(
    store: MetadataStore, resolve: Callable[[ImageReference], Resolved]
) -> IngestReport:
    """Link every task whose image is not yet a node: pinned digests as they are, tags
    through ``resolve`` (a registry), each reference resolved once per call."""
    report = IngestReport("images")
    linker = _Linker(store, resolve)
    units = (
        Unit(task.id, task.id, partial(linker.record, task, text))
        for task, text in _unresolved(store, report)
    )
    # A registry that fails one reference may serve the next: no failure stops the rest.
    write_units(store, units, report, failures=EACH_UNIT_ALONE)
    return report
