"""Images as lineage nodes, linked from the tasks that ran them.

An image node is a ``lineage.Image`` artifact named ``image:<repository>@<digest>``.
A task uses it through ``Event(task, image, INPUT, ("image", <how>, <reference>))``, where
<how> says how the digest is known (``ImageSource``) and <reference> is the reference the
task ran (``ghcr.io/acme/train:v1``, as its spec or pod named it). The reference lives on
the event, which belongs to that task alone: one digest is often pushed under several
tags, and a tag on the shared node would show each task the last tag anyone recorded.
The node keeps the tag it was first recorded with. The task is written back as it is
stored, so the record only adds the node and the event (put_run is idempotent).

These are records only; the sources that write them (the registry's in
``lineage.ingest.image_links``, the pods' in ``lineage.ingest.k8s.pods``) sit above.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineage.errors import BadInputError
from lineage.images.client import Resolved
from lineage.images.reference import ImageReference, parse_reference
from lineage.model import (
    IMAGE_EVENT_KEY,
    Artifact,
    Event,
    EventType,
    Execution,
    ImageSource,
    LineageType,
    PropertyValue,
    RunRecord,
    image_id,
)
from lineage.store.port import MetadataStore


def image_node(ref: ImageReference, digest: str, resolved: Resolved | None = None) -> Artifact:
    """The image artifact for ``ref`` at ``digest`` (with platform digests of an index)."""
    props: dict[str, PropertyValue] = {
        "repository": ref.name,
        "tag": ref.tag or "",
        "digest": digest,
    }
    if resolved is not None:
        props["media_type"] = resolved.media_type
        if resolved.platforms:
            props["platforms"] = {p.name: p.digest for p in resolved.platforms}
    return Artifact(
        id=image_id(ref.name, digest),
        type=LineageType.IMAGE,
        uri=f"oci://{ref.name}@{digest}",
        # Unique per type in MLMD, as names must be: a tag moves, a digest does not.
        name=f"{ref.name}@{digest}",
        properties=props,
    )


def image_record(
    task: Execution,
    image: Artifact,
    source: ImageSource,
    reference: str = "",
    store: MetadataStore | None = None,
) -> RunRecord:
    """The task as stored, the image, and the INPUT event that says how it is known and
    which ``reference`` the task ran. With ``store``, an image node already stored is
    kept as it is (its tag is the first one recorded, never the latest writer's)."""
    if store is not None:
        stored = store.get_artifacts([image.id])
        if stored:  # what this writer adds (a registry's platforms) joins; the rest stays
            kept = {**image.properties, **stored[0].properties}
            image = Artifact(image.id, image.type, image.uri, image.name, properties=kept)
    path = (
        (IMAGE_EVENT_KEY, source.value, reference)
        if reference
        else (
            IMAGE_EVENT_KEY,
            source.value,
        )
    )
    event = Event(task.id, image.id, EventType.INPUT, path)
    return RunRecord(executions=(task,), artifacts=(image,), events=(event,))


def ran_reference(event: Event) -> str | None:
    """The image reference a task ran, from its image event; None on events recorded
    before the reference was kept there."""
    if len(event.path) > 2 and event.path[0] == IMAGE_EVENT_KEY:
        return str(event.path[2]) or None
    return None


def pinned_record(task: Execution, reference: str) -> RunRecord | None:
    """For a task whose spec names an image by digest: the record that links it, else None."""
    ref = parse_reference(reference)
    if not ref.digest:
        return None
    return image_record(task, image_node(ref, ref.digest), ImageSource.PINNED, reference)


@dataclass(frozen=True, slots=True)
class PodImage:
    """What a pod reported for its main container: ``imageID`` and the ``image`` it asked for."""

    image: str  # status.containerStatuses[].image (or the spec's), e.g. "python:3.11"
    image_id: str  # status.containerStatuses[].imageID, e.g. "docker.io/library/python@sha256:..."


def pod_image_node(pod: PodImage) -> Artifact:
    """The image node for a pod's reported imageID, tagged with the tag the pod asked for."""
    reported = parse_reference(pod.image_id)
    if not reported.digest:
        raise BadInputError(f"imageID {pod.image_id!r} names no repository digest")
    tag = None
    if pod.image:
        asked = parse_reference(pod.image)
        tag = asked.tag if asked.name == reported.name else None
    ref = ImageReference(reported.registry, reported.repository, tag, reported.digest)
    return image_node(ref, reported.digest)
