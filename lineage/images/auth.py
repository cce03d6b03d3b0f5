"""Registry credentials and the bearer-token challenge of the Distribution API.

Credentials come from a Docker ``config.json`` (``auths.<host>.auth`` is base64 of
``user:password``), found at ``--docker-config``, ``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``. Credential helpers (``credsStore``/``credHelpers``) run
programs and are not used: a host that only has a helper is reached anonymously.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lineage.errors import ConfigError
from lineage.images.reference import DOCKER_HUB


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


def default_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _keys_for(registry: str) -> list[str]:
    keys = [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v2/"]
    if registry == DOCKER_HUB:
        keys += ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"]
    return keys


@dataclass(frozen=True, slots=True)
class DockerConfig:
    auths: dict[str, Credentials]
    path: Path | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> DockerConfig:
        """Read a config.json; a missing default file means no credentials, not an error."""
        explicit = path is not None
        path = path or default_config_path()
        if not path.exists():
            if explicit:
                raise ConfigError(f"docker config {path} does not exist")
            return cls({}, None)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"docker config {path} is not readable JSON: {exc}") from exc
        auths: dict[str, Credentials] = {}
        for key, entry in (doc.get("auths") or {}).items():
            if not isinstance(entry, dict):
                continue
            creds = _entry_credentials(entry, path, key)
            if creds is not None:
                auths[key.rstrip("/") if key.endswith("/v2/") else key] = creds
        return cls(auths, path)

    def lookup(self, registry: str) -> Credentials | None:
        for key in _keys_for(registry):
            found = self.auths.get(key) or self.auths.get(key.rstrip("/"))
            if found is not None:
                return found
        return None


def _entry_credentials(entry: dict[str, object], path: Path, key: str) -> Credentials | None:
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ConfigError(f"docker config {path}: auths[{key!r}].auth is not base64") from exc
        if not sep:
            raise ConfigError(f"docker config {path}: auths[{key!r}].auth is not user:password")
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # "bearer" or "basic"
    params: dict[str, str]


_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``WWW-Authenticate: Bearer realm="...",service="...",scope="..."``."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)).replace(
            '\\"', '"'
        )
        for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)
