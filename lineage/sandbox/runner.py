"""``lineage.SandboxRunner``: each container task in its pinned image, offline, in bubblewrap.

Before any task runs, ``prepare`` pulls every image the pipeline names, by digest, from
the environment's registry (``registry`` replaces the registry in each reference; the
repository and digest stay) into the content-addressed cache, verifying every blob, and
unpacks each digest once. An image missing from the registry, a blob that does not hash
to its digest or a layer that cannot be unpacked stops the run there, naming the digest:
nothing has run yet. Each task then runs with ``bwrap`` (``lineage.sandbox.bwrap``), and
``ran`` tells the recorder the digest that actually ran and the sandbox's properties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage.images.client import RegistryClient
from lineage.images.reference import ImageReference, parse_reference
from lineage.ingest.kfp_local.runners import RanWith
from lineage.model import PropertyValue
from lineage.sandbox.bwrap import Sandbox, bwrap_binary, bwrap_version
from lineage.sandbox.cache import CachedImage, ImageCache
from lineage.sandbox.handler import SandboxTaskHandler, run_task
from lineage.sandbox.unpack import rootfs_of, umoci_binary

RUNNER_NAME = "lineage.SandboxRunner"


@dataclass
class SandboxRunner:
    """One per run. ``timeout_s`` bounds each task; None lets a task run as long as it runs."""

    cache: ImageCache
    registry: str | None = None
    timeout_s: float | None = 3600.0
    source_date_epoch: int = 0
    name: str = RUNNER_NAME
    _images: dict[str, tuple[CachedImage, Path]] = field(default_factory=dict, init=False)
    _ran: dict[str, RanWith] = field(default_factory=dict, init=False)

    @classmethod
    def open(
        cls,
        cache_dir: Path,
        client: RegistryClient,
        registry: str | None = None,
        timeout_s: float | None = 3600.0,
        source_date_epoch: int = 0,
    ) -> SandboxRunner:
        """Checks the tools first: a machine without bwrap or umoci is told which package."""
        bwrap_binary()
        umoci_binary()
        return cls(ImageCache(cache_dir, client), registry, timeout_s, source_date_epoch)

    def where(self, image: str) -> ImageReference:
        """Where ``image`` is pulled from: the environment's registry, same repository."""
        ref = parse_reference(image)
        if self.registry:
            return ImageReference(self.registry, ref.repository, ref.tag, ref.digest)
        return ref

    def prepare(self, images: Iterable[str]) -> None:
        for image in dict.fromkeys(images):
            if image not in self._images:
                cached = self.cache.pull(self.where(image))
                self._images[image] = (cached, rootfs_of(self.cache, cached))

    def run_container(self, path: str, **task: Any) -> tuple[dict[str, Any], Any]:
        handlers: list[SandboxTaskHandler] = []

        def handler_for(
            image: str, command: list[str], task_root: Path, inputs: tuple[Path, ...]
        ) -> SandboxTaskHandler:
            self.prepare([image])
            cached, rootfs = self._images[image]
            handler = SandboxTaskHandler(image, command, str(task_root.parent), self)
            handler.sandbox = Sandbox(
                rootfs=rootfs,
                inputs=inputs,
                outputs=(task_root,),
                image_env=cached.env,
                working_dir=cached.working_dir,
                source_date_epoch=self.source_date_epoch,
            )
            handler.timeout_s = self.timeout_s
            handlers.append(handler)
            return handler

        outputs, result = run_task(handler_for, **task)
        if handlers:
            self._ran[path] = self._record(handlers[0])
        return outputs, result

    def _record(self, handler: SandboxTaskHandler) -> RanWith:
        cached, _ = self._images[handler.image]
        assert handler.sandbox is not None
        options: dict[str, Any] = handler.sandbox.options()
        options["timeout_s"] = self.timeout_s if self.timeout_s is not None else 0
        props: dict[str, PropertyValue] = {
            "runner": RUNNER_NAME,
            "bubblewrap_version": bwrap_version(),
            "sandbox_options": options,
        }
        failure = None
        if handler.timed_out:
            failure = f"killed after {self.timeout_s:g}s: the task ran past its timeout"
        return RanWith(str(cached.reference), props, failure)

    def ran(self, path: str) -> RanWith | None:
        return self._ran.get(path)
