"""Who is asking: bearer tokens from a static file, or JWTs verified against a JWKS.

A principal reads the runs of its KFP namespaces; an auditor reads everything.
With no auth configured every request is the local user, an auditor, and the
server binds loopback only (``lineage.cli.serve`` enforces that).
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import yaml

from lineage.api.config import ApiSettings
from lineage.api.guards.errors import ForbiddenError, UnauthenticatedError
from lineage.errors import ConfigError, UnavailableError


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    namespaces: frozenset[str] = frozenset()
    auditor: bool = False
    via: str = "local"  # local | token | jwt

    def sees_namespace(self, namespace: str) -> bool:
        return self.auditor or namespace in self.namespaces

    def as_audit(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "via": self.via,
            "auditor": self.auditor,
            "namespaces": sorted(self.namespaces),
        }


LOCAL = Principal(subject="local", auditor=True, via="local")


def local_user() -> Principal:
    """The OS user running ``lineage query``: an auditor like LOCAL (whoever can read the
    store's files reads everything anyway), named so the audit log says who asked."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name: a container's unnamed uid
        user = f"uid-{os.getuid()}"
    return Principal(subject=f"local:{user}", auditor=True, via="local")


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _namespaces(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ConfigError(f"{where}: namespaces must be a list of names, got {value!r}")


@dataclass(frozen=True, slots=True)
class TokenFile:
    """Static bearer tokens, for small set-ups. The file (YAML or JSON) reads::

        tokens:
          - subject: team-a-ci
            sha256: <hex sha256 of the token>   # or token: <the token itself>
            namespaces: [team-a]
          - subject: audit
            sha256: ...
            auditor: true

    Keeping only the sha256 in the file means reading it does not reveal a token.
    """

    by_hash: Mapping[str, Principal] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TokenFile:
        try:
            raw = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"the token file {path} is not UTF-8 text (byte {exc.start} cannot be decoded)"
            ) from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"the token file {path} is not YAML or JSON: {exc}") from exc
        entries = raw.get("tokens") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise ConfigError(f"the token file {path} needs a top-level 'tokens' list")
        by_hash: dict[str, Principal] = {}
        for index, entry in enumerate(entries):
            where = f"{path}: tokens[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("subject"), str):
                raise ConfigError(f"{where} needs a 'subject'")
            digest = entry.get("sha256")
            if digest is None and isinstance(entry.get("token"), str):
                digest = _sha256(entry["token"])
            if not isinstance(digest, str) or len(digest) != 64:
                raise ConfigError(f"{where} needs 'sha256' (64 hex digits) or 'token'")
            principal = Principal(
                subject=entry["subject"],
                namespaces=_namespaces(entry.get("namespaces"), where),
                auditor=bool(entry.get("auditor", False)),
                via="token",
            )
            by_hash[digest.lower()] = principal
        return cls(by_hash)

    def verify(self, token: str) -> Principal | None:
        return self.by_hash.get(_sha256(token))


class JwtVerifier:
    """Verifies signature, expiry, issuer and audience against a JWKS (OIDC).

    The JWKS is an http(s) URL, fetched on first use and cached, or a local file,
    read once. Verifying may fetch: callers run it in a worker thread.
    """

    def __init__(self, settings: ApiSettings) -> None:
        assert settings.jwks_url is not None
        self.settings = settings
        self._source = settings.jwks_url
        self._client: jwt.PyJWKClient | None = None
        self._file_keys: jwt.PyJWKSet | None = None

    def _key(self, token: str) -> Any:
        if self._source.startswith(("http://", "https://")):
            if self._client is None:
                self._client = jwt.PyJWKClient(self._source, cache_jwk_set=True, lifespan=300)
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWKClientConnectionError as exc:
                raise UnavailableError(f"cannot fetch the JWKS from {self._source}: {exc}") from exc
        if self._file_keys is None:
            path = Path(self._source.removeprefix("file://"))
            try:
                self._file_keys = jwt.PyJWKSet.from_json(path.read_text())
            except (OSError, ValueError, jwt.PyJWKSetError) as exc:  # ValueError: not UTF-8
                raise ConfigError(f"cannot read the JWKS file {path}: {exc}") from exc
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._file_keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise UnauthenticatedError(f"no key with id {kid!r} in the JWKS")

    def verify(self, token: str) -> Principal:
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=list(s.jwt_algorithms),
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                options={"require": ["exp", "sub"], "verify_aud": s.jwt_audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthenticatedError("the token has expired") from exc
        except jwt.PyJWKClientError as exc:
            raise UnauthenticatedError(f"the token's key is not in the JWKS: {exc}") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthenticatedError(f"the token is not valid: {exc}") from exc
        scopes = claims.get("scope", claims.get("scp", []))
        if isinstance(scopes, str):
            scopes = scopes.split()
        try:
            namespaces = _namespaces(claims.get(s.namespaces_claim), "the token")
        except ConfigError as exc:
            raise UnauthenticatedError(str(exc)) from exc
        return Principal(
            subject=str(claims["sub"]),
            namespaces=namespaces,
            auditor=isinstance(scopes, list) and s.auditor_scope in scopes,
            via="jwt",
        )


class Authenticator:
    """Turns an ``Authorization`` header into a principal, or refuses it."""

    def __init__(self, tokens: TokenFile | None, jwt_verifier: JwtVerifier | None) -> None:
        self.tokens = tokens
        self.jwt = jwt_verifier

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Authenticator:
        tokens = TokenFile.load(settings.token_file) if settings.token_file else None
        verifier = JwtVerifier(settings) if settings.jwks_url else None
        return cls(tokens, verifier)

    @property
    def enabled(self) -> bool:
        return self.tokens is not None or self.jwt is not None

    def authenticate(self, authorization: str | None) -> Principal:
        if not self.enabled:
            return LOCAL
        if not authorization:
            raise UnauthenticatedError("this server needs a bearer token (Authorization header)")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise UnauthenticatedError("the Authorization header must read 'Bearer <token>'")
        principal = self.tokens.verify(token) if self.tokens is not None else None
        if principal is None:
            if self.jwt is not None and token.count(".") == 2:
                principal = self.jwt.verify(token)
            else:
                raise UnauthenticatedError("unknown token")
        if not principal.auditor and not principal.namespaces:
            raise ForbiddenError(
                f"{principal.subject}: the token grants no namespace",
                {**principal.as_audit(), "token_sha256": _sha256(token)},
            )
        return principal
