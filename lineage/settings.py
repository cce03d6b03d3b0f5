"""Settings, read from LINEAGE_* environment variables when the CLI or app starts.

Nothing here touches the disk or the network: building a Settings object is
pure. ``Settings.store`` picks the metadata store backend by its ``type``.
Nested fields use ``__``: ``LINEAGE_STORE__TYPE=mysql``,
``LINEAGE_STORE__URL=mysql://user:pw@host:3306/mlmd``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SqliteStoreConfig(_Strict):
    """The embedded default: one SQLite file, ``$LINEAGE_HOME/mlmd.sqlite`` unless ``path`` says."""

    type: Literal["sqlite"] = "sqlite"
    path: Path | None = None


class MysqlStoreConfig(_Strict):
    """A shared MySQL (or MariaDB) database, as KFP's own MLMD uses."""

    type: Literal["mysql"] = "mysql"
    url: SecretStr  # mysql://user:password@host:port/database


class GrpcStoreConfig(_Strict):
    """A running MLMD gRPC server, e.g. KFP's metadata-grpc-service."""

    type: Literal["grpc"] = "grpc"
    address: str  # host:port
    timeout_s: float = 10.0


def _store_type(value: Any) -> str:
    # The embedded store is the default, so LINEAGE_STORE__PATH alone selects it.
    if isinstance(value, dict):
        return str(value.get("type", "sqlite"))
    return str(getattr(value, "type", "sqlite"))


StoreConfig = Annotated[
    Annotated[SqliteStoreConfig, Tag("sqlite")]
    | Annotated[MysqlStoreConfig, Tag("mysql")]
    | Annotated[GrpcStoreConfig, Tag("grpc")],
    Discriminator(_store_type),
]


class Neo4jConfig(_Strict):
    uri: str  # bolt://host:7687 or neo4j://...
    user: str | None = None
    password: SecretStr | None = None
    database: str = "neo4j"


class EnvironmentConfig(_Strict):
    """A named place to rebuild a model: ``LINEAGE_ENVIRONMENTS__<NAME>__<FIELD>``.

    Names are read in lower case (environment variables are not case-sensitive here).
    ``store`` holds migrated inputs and snapshots, content-addressed as the snapshot store
    lays them out: a directory or an fsspec URL. ``registry`` is ``host[:port]``, optionally
    followed by a path that prefixes every migrated repository.
    """

    runner: Literal["local"] = "local"  # kfp.local's SubprocessRunner
    registry: str | None = None
    store: str | None = None
    pipeline_root: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINEAGE_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".lineage")
    store: StoreConfig = Field(default_factory=SqliteStoreConfig)
    neo4j: Neo4jConfig | None = None
    # Registries reached over plain HTTP, as host:port, comma-separated in the environment.
    insecure_registries: Annotated[tuple[str, ...], NoDecode] = ()
    # Where snapshots keep their blobs: a directory or an fsspec URL; $LINEAGE_HOME/snapshots
    # when unset.
    snapshot_store: str | None = None
    # The secret API cursors are sealed with. Unset: a random key per process, so cursors
    # do not survive a restart and are refused by another worker process.
    cursor_key: SecretStr | None = None
    # Named environments a model can be rebuilt in (``lineage rebuild``).
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)

    @field_validator("insecure_registries", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip() for h in value.split(",") if h.strip())
        return value

    def sqlite_path(self) -> Path:
        """Where the embedded store lives (only meaningful for the sqlite backend)."""
        if isinstance(self.store, SqliteStoreConfig) and self.store.path is not None:
            return self.store.path.expanduser()
        return self.home.expanduser() / "mlmd.sqlite"
