"""Image references as the container tools read them: ``[registry/]repository[:tag][@digest]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineage.errors import BadInputError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})")


@dataclass(frozen=True, slots=True)
class ImageReference:
    registry: str  # host[:port] as written; Docker Hub is "docker.io"
    repository: str  # path inside the registry, e.g. "library/python"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The fully qualified repository: the ``repository`` of an image node."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """Where the Distribution API answers (Docker Hub serves it on another host)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def target(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> ImageReference:
    """Parse a reference; a bare name means Docker Hub (``python`` is ``docker.io/library/python``).

    A reference with neither tag nor digest means ``:latest``, as ``docker pull`` reads it.
    """
    raw = text.strip()
    for prefix in ("docker://", "docker-pullable://"):
        raw = raw.removeprefix(prefix)
    if not raw:
        raise BadInputError("an image reference is empty")
    rest, _, digest = raw.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise BadInputError(f"image {text!r}: {digest!r} is not a sha256 or sha512 digest")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    tag: str | None = None
    if ":" in path:
        path, _, tag = path.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise BadInputError(f"image {text!r}: {tag!r} is not a valid tag")
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not path or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise BadInputError(
            f"image {text!r}: {path!r} is not a valid repository "
            "(lowercase letters, digits and separators)"
        )
    if tag is None and not digest:
        tag = "latest"
    return ImageReference(registry, path, tag, digest or None)
