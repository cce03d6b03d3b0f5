"""API settings, read from ``LINEAGE_API__*`` variables when the server or CLI starts.

Kept beside, not inside, ``lineage.settings.Settings``: only the API needs them,
and building them is as pure as building ``Settings`` (no file is read here).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Auth, audit and limits. With neither ``token_file`` nor ``jwks_url`` set, auth is off
    and the server refuses to bind anything but loopback."""

    model_config = SettingsConfigDict(env_prefix="LINEAGE_API__", extra="forbid", frozen=True)

    # --- auth ---------------------------------------------------------------
    token_file: Path | None = None  # YAML or JSON: tokens with a subject and namespaces
    jwks_url: str | None = None  # http(s):// URL of an OIDC JWKS, or a local file path
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: tuple[str, ...] = ("RS256", "ES256")
    namespaces_claim: str = "namespaces"  # a list (or a space-separated string) of namespaces
    auditor_scope: str = "lineage:audit"  # in the ``scope`` / ``scp`` claim: reads everything
    # Runs recorded without a namespace (kfp.local, single-user KFP) belong to this one.
    default_namespace: str = "default"
    # Every request, as JSON lines; None = $LINEAGE_HOME/audit.jsonl when serving.
    audit_log: Path | None = None
    # Variables whose name contains one of these words (any case, at any depth) are
    # logged as "[redacted]"; the document's text is logged as sent.
    audit_redact: tuple[str, ...] = (
        "token",
        "password",
        "passwd",
        "secret",
        "credential",
        "apikey",
        "api_key",
    )

    # --- limits -------------------------------------------------------------
    max_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_tokens: int = Field(default=2000, ge=50)
    max_document_chars: int = Field(default=20_000, ge=1000)  # checked before parsing
    max_cost: int = Field(default=50_000, ge=1)
    max_page: int = Field(default=500, ge=1)  # first: on any connection
    max_lineage_nodes: int = Field(default=10_000, ge=1)  # limit: on lineage
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # --- slow clients -------------------------------------------------------
    # The whole body must arrive within this long (a trickling body holds a task).
    body_timeout_s: float = Field(default=10.0, gt=0)
    # The request line and headers must arrive within this long of the connection
    # opening (or of the previous answer on a kept-alive connection).
    header_timeout_s: float = Field(default=10.0, gt=0)
    # Idle kept-alive connections close after this long.
    keep_alive_s: float = Field(default=5.0, gt=0)
    # Connections (and requests) served at once; past it, new requests get 503.
    max_connections: int = Field(default=200, ge=1)
    # Connections with filters the store cannot apply scan at most this many records.
    max_scan: int = Field(default=5_000, ge=1)

    @property
    def auth_enabled(self) -> bool:
        return self.token_file is not None or self.jwks_url is not None
