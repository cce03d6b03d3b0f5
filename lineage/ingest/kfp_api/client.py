"""A small client for KFP's v2beta1 REST API (``/apis/v2beta1``), read-only.

It retries what a busy server may answer (5xx, 429, a dropped connection) with
exponential backoff, honours ``Retry-After``, and pages with ``page_token`` /
``next_page_token``. Every error names the endpoint path that failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx

from lineage.errors import BadInputError, ConfigError, NotFoundError, UnavailableError

API = "/apis/v2beta1"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


class KfpApiClient:
    """Construct freely (no I/O); the connection opens on the first request."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 4,
        backoff_s: float = 0.5,
        page_size: int = 100,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"--endpoint is an http(s) URL, got {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout_s
        self._retries = retries
        self._backoff = backoff_s
        self._page_size = page_size
        self._transport = transport
        self._sleep = sleep
        self._http: httpx.Client | None = None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> KfpApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.endpoint,
                headers=self._headers,
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,
            )
        return self._http

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        delay = min(self._backoff * (2**attempt), 10.0)
        after = response.headers.get("Retry-After") if response is not None else None
        if after is not None and after.strip().isdigit():
            delay = min(float(after), 30.0)
        self._sleep(delay)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET one JSON object from ``/apis/v2beta1/<path>``."""
        where = f"{API}/{path.lstrip('/')}"
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        last = ""
        for attempt in range(self._retries + 1):
            response: httpx.Response | None = None
            try:
                response = self._client().get(where, params=query)
            except httpx.TransportError as exc:
                last = f"did not answer ({type(exc).__name__}: {exc})"
            else:
                if response.status_code not in _RETRY_STATUS:
                    return self._parse(where, response)
                last = f"answered {response.status_code}: {_snippet(response.text)}"
            if attempt < self._retries:
                self._wait(attempt, response)
        raise UnavailableError(
            f"KFP API {self.endpoint}{where} {last} (after {self._retries + 1} attempts)"
        )

    def _parse(self, where: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        url = f"{self.endpoint}{where}"
        if status in (401, 403):
            raise ConfigError(
                f"KFP API {url} refused access ({status}): give a valid --token or --token-file"
            )
        if 300 <= status < 400:
            raise ConfigError(
                f"KFP API {url} redirected to {response.headers.get('Location', '?')}: "
                "a login page in front of the API? Give --token, or the API server's own URL"
            )
        if status == 404:
            raise NotFoundError(f"KFP API {url}: not found (404)")
        if status >= 400 or status < 200:
            raise BadInputError(f"KFP API {url} answered {status}: {_snippet(response.text)}")
        try:
            body = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadInputError(
                f"KFP API {url} answered garbage, not JSON ({exc.__class__.__name__}: "
                f"{exc}): {_snippet(response.text)!r}"
            ) from exc
        if not isinstance(body, dict):
            raise BadInputError(
                f"KFP API {url} answered a JSON {type(body).__name__}, expected an object"
            )
        return body

    def pages(
        self, path: str, key: str | tuple[str, ...], params: Mapping[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following ``next_page_token``. ``key`` may list
        spellings (``recurringRuns`` is camel-case in KFP's proto, unlike its siblings)."""
        keys = (key,) if isinstance(key, str) else key
        token = ""
        seen: set[str] = set()
        while True:
            query = {**(params or {}), "page_size": self._page_size, "page_token": token}
            body = self.get(path, query)
            key = next((k for k in keys if k in body), keys[0])
            items = body.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise BadInputError(
                    f"KFP API {self.endpoint}{API}/{path}: {key!r} is not a list of objects"
                )
            yield from items
            token = str(body.get("next_page_token") or "")
            if not token:
                return
            if token in seen:
                raise BadInputError(
                    f"KFP API {self.endpoint}{API}/{path}: page token {token!r} came back "
                    "twice; the server pages in a loop"
                )
            seen.add(token)
