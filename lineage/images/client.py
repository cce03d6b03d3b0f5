"""An OCI Distribution client that resolves a reference to a verified manifest digest.

HEAD finds the digest the registry claims; GET by that digest fetches the manifest,
whose sha256 must equal the digest, because a digest taken on trust is exactly what
the lineage must never store. An image index (multi-arch) yields the digest of every
platform it lists, authenticated by the index digest itself.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import httpx

from lineage.errors import BadInputError, ConfigError, LineageError, NotFoundError, UnavailableError
from lineage.images.auth import Credentials, DockerConfig, parse_challenge
from lineage.images.reference import ImageReference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})


class RegistryAuthError(ConfigError):
    """The registry refused our credentials (or asked for some we do not have)."""

    code = "UNAUTHENTICATED"


class DigestMismatchError(BadInputError):
    """A manifest whose bytes do not hash to the digest it was served under."""


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str
    digest: str

    @property
    def name(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Resolved:
    reference: ImageReference
    digest: str
    media_type: str
    platforms: tuple[Platform, ...] = ()

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": str(self.reference),
            "repository": self.reference.name,
            "tag": self.reference.tag,
            "digest": self.digest,
            "media_type": self.media_type,
            "platforms": [{"platform": p.name, "digest": p.digest} for p in self.platforms],
        }


@dataclass
class RegistryClient:
    """One client per command; it keeps one HTTP connection pool and the tokens it got.

    ``insecure`` lists ``host:port`` names reached over plain HTTP. Retries on 429 and
    5xx wait ``backoff_s * 2**attempt`` (or the server's Retry-After), at most
    ``max_backoff_s``, ``retries`` times.
    """

    docker_config: DockerConfig = field(default_factory=lambda: DockerConfig({}))
    insecure: Collection[str] = ()
    retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    _http: httpx.Client | None = field(default=None, init=False, repr=False)
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    _basic: set[str] = field(default_factory=set, init=False, repr=False)

    @property
    def http(self) -> httpx.Client:
        if self._http is None:  # lazy: building a client never touches the network
            self._http = httpx.Client(timeout=self.timeout_s, follow_redirects=True)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def base_url(self, ref: ImageReference) -> str:
        scheme = "http" if ref.registry in self.insecure else "https"
        return f"{scheme}://{ref.api_host}"

    # --- resolving -----------------------------------------------------------

    def resolve(self, ref: ImageReference) -> Resolved:
        """The verified digest of what ``ref`` names now, with platform digests for an index."""
        url = f"{self.base_url(ref)}/v2/{ref.repository}/manifests/"
        head = self._request("HEAD", url + ref.target, ref)
        claimed = ref.digest
        if head.status_code == 200:
            claimed = ref.digest or head.headers.get("Docker-Content-Digest") or None
        elif head.status_code not in (404, 405):
            self._raise_for(head, ref)
        if head.status_code == 404:
            raise NotFoundError(f"image {ref}: the registry {ref.registry} has no such manifest")
        response = self._request("GET", url + (claimed or ref.target), ref)
        if response.status_code != 200:
            self._raise_for(response, ref)
        body = response.content
        served = response.headers.get("Docker-Content-Digest")
        expected = claimed or served or f"sha256:{hashlib.sha256(body).hexdigest()}"
        check_digest(ref, body, expected)
        if served and served != expected:
            raise DigestMismatchError(
                f"image {ref}: the registry served digest {served} for {expected}"
            )
        return _parse_manifest(ref, body, expected, response.headers.get("Content-Type", ""))

    # --- HTTP with auth and retries ----------------------------------------------

    def _request(self, method: str, url: str, ref: ImageReference) -> httpx.Response:
        scope = f"repository:{ref.repository}:pull"
        authed = False
        attempt = 0
        while True:
            headers = {"Accept": ACCEPT}
            auth = self._auth_header(ref.registry, scope)
            if auth:
                headers["Authorization"] = auth
            try:
                response = self.http.request(method, url, headers=headers)
            except httpx.HTTPError as exc:
                raise UnavailableError(
                    f"image {ref}: cannot reach the registry {ref.registry} ({url}): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if response.status_code == 401 and not authed:
                authed = True
                self._answer_challenge(response, ref, scope)
                continue
            if (response.status_code == 429 or response.status_code >= 500) and (
                attempt < self.retries
            ):
                self.sleep(self._delay(response, attempt))
                attempt += 1
                continue
            return response

    def _delay(self, response: httpx.Response, attempt: int) -> float:
        after = response.headers.get("Retry-After", "")
        if after.isdigit():
            return min(float(after), self.max_backoff_s)
        return min(self.backoff_s * 2.0**attempt, self.max_backoff_s)

    def _auth_header(self, registry: str, scope: str) -> str | None:
        token = self._tokens.get((registry, scope))
        if token:
            return f"Bearer {token}"
        creds = self.docker_config.lookup(registry)
        if creds is not None and registry in self._basic:
            return creds.basic()
        return None

    def _answer_challenge(self, response: httpx.Response, ref: ImageReference, scope: str) -> None:
        header = response.headers.get("WWW-Authenticate", "")
        challenge = parse_challenge(header)
        creds = self.docker_config.lookup(ref.registry)
        if challenge is None:
            raise RegistryAuthError(
                f"image {ref}: the registry {ref.registry} answered 401 with no challenge"
            )
        if challenge.scheme == "basic":
            if creds is None:
                raise RegistryAuthError(
                    f"image {ref}: the registry {ref.registry} needs a login and the docker "
                    f"config ({self._config_where()}) has none for it"
                )
            self._basic.add(ref.registry)
            return
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            raise RegistryAuthError(f"image {ref}: unsupported auth challenge {header!r}")
        want = challenge.params.get("scope") or scope
        token = self._fetch_token(ref, challenge.params, want, creds)
        self._tokens[(ref.registry, scope)] = token

    def _config_where(self) -> str:
        return str(self.docker_config.path) if self.docker_config.path else "none found"

    def _fetch_token(
        self,
        ref: ImageReference,
        params: dict[str, str],
        scope: str,
        creds: Credentials | None,
    ) -> str:
        query = {"scope": scope}
        if "service" in params:
            query["service"] = params["service"]
        headers = {"Authorization": creds.basic()} if creds else {}
        realm = params["realm"]
        attempt = 0
        while True:
            try:
                response = self.http.get(realm, params=query, headers=headers)
            except httpx.HTTPError as exc:
                raise UnavailableError(
                    f"image {ref}: cannot reach the token service {realm}: {exc}"
                ) from exc
            if (response.status_code == 429 or response.status_code >= 500) and (
                attempt < self.retries
            ):
                self.sleep(self._delay(response, attempt))
                attempt += 1
                continue
            break
        if response.status_code in (401, 403):
            who = f"as {creds.username!r}" if creds else "anonymously (no credentials found)"
            raise RegistryAuthError(
                f"image {ref}: the token service {realm} refused a token {who} "
                f"(HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise UnavailableError(
                f"image {ref}: the token service {realm} answered HTTP {response.status_code}"
            )
        try:
            doc = response.json()
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError) as exc:
            raise UnavailableError(f"image {ref}: the token service {realm} sent no JSON") from exc
        if not isinstance(token, str) or not token:
            raise UnavailableError(f"image {ref}: the token service {realm} sent no token")
        return token

    def _raise_for(self, response: httpx.Response, ref: ImageReference) -> None:
        status = response.status_code
        where = f"image {ref}: the registry {ref.registry}"
        error: LineageError
        if status == 401:
            error = RegistryAuthError(f"{where} refused the credentials (HTTP 401)")
        elif status == 403:
            error = RegistryAuthError(f"{where} denies access to {ref.repository} (HTTP 403)")
        elif status == 404:
            error = NotFoundError(f"{where} has no such manifest (HTTP 404)")
        elif status == 429:
            error = UnavailableError(
                f"{where} is rate limiting (HTTP 429) after {self.retries} retries"
            )
        elif status >= 500:
            error = UnavailableError(f"{where} failed (HTTP {status}) after {self.retries} retries")
        else:
            error = UnavailableError(f"{where} answered HTTP {status}")
        raise error


def check_digest(ref: ImageReference, body: bytes, expected: str) -> None:
    algorithm, _, hexdigest = expected.partition(":")
    if algorithm not in ("sha256", "sha512"):
        raise DigestMismatchError(f"image {ref}: unsupported digest algorithm in {expected!r}")
    actual = hashlib.new(algorithm, body).hexdigest()
    if actual != hexdigest:
        raise DigestMismatchError(
            f"image {ref}: the manifest served as {expected} hashes to {algorithm}:{actual}; "
            "refusing it (tampered or corrupted in transit)"
        )


def _parse_manifest(ref: ImageReference, body: bytes, digest: str, content_type: str) -> Resolved:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise BadInputError(f"image {ref}: the manifest {digest} is not JSON") from exc
    if not isinstance(doc, dict):
        raise BadInputError(f"image {ref}: the manifest {digest} is not a JSON object")
    media_type = str(doc.get("mediaType") or content_type.split(";")[0].strip())
    platforms: list[Platform] = []
    if media_type in INDEX_TYPES:
        for child in doc.get("manifests") or []:
            platform = child.get("platform") or {}
            platforms.append(
                Platform(
                    str(platform.get("os", "")),
                    str(platform.get("architecture", "")),
                    str(platform.get("variant", "")),
                    str(child.get("digest", "")),
                )
            )
    return Resolved(ref, digest, media_type, tuple(platforms))
