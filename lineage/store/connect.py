"""Opening the metadata store named by the settings, with errors a user can act on."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import ConfigError, StoreError, UnavailableError
from lineage.settings import GrpcStoreConfig, MysqlStoreConfig, Settings, SqliteStoreConfig
from lineage.store.counting import ListingCounter, SqlCounter
from lineage.store.mlmd import MlmdStore

_SQLITE_MAGIC = b"SQLite format 3\x00"


def open_store(settings: Settings) -> MlmdStore:
    config = settings.store
    if isinstance(config, SqliteStoreConfig):
        return open_sqlite(settings.sqlite_path())
    if isinstance(config, MysqlStoreConfig):
        return open_mysql(config.url.get_secret_value())
    assert isinstance(config, GrpcStoreConfig)
    return open_grpc(config.address, config.timeout_s)


def check_sqlite_home(path: Path) -> None:
    """The directory of the SQLite store exists (made if need be) and may be written:
    SQLite writes its journal beside the file, so even a reader needs that."""
    home = path.parent
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the store directory {home}: {exc.strerror}") from exc
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigError(f"the store directory {home} is not readable and writable")


def open_sqlite(path: Path) -> MlmdStore:
    check_sqlite_home(path)
    if path.exists():
        _check_sqlite_file(path)
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    mlmd = open_mlmd(config, f"the SQLite store {path}")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    return MlmdStore(mlmd, "sqlite", str(path), SqlCounter(connect))


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not SQLite, or damaged, before MLMD sees it: MLMD's error says
    only 'INTERNAL'. A hot journal left by a killed writer is rolled back first."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ConfigError(f"cannot read the store file {path}: {exc.strerror}") from exc
    if head and head != _SQLITE_MAGIC:
        raise StoreError(
            f"{path} is not a SQLite database (corrupt or another file); "
            "move it aside or point LINEAGE_HOME elsewhere"
        )
    # A process killed mid-transaction leaves a hot rollback journal. Only a read-write
    # connection may roll it back (a read-only one fails with "attempt to write a
    # readonly database"), and rolling back is SQLite's own recovery, which loses nothing
    # that was committed: so open read-write when the file allows it, and check after.
    mode = "rw" if os.access(path, os.W_OK) else "ro"
    try:
        conn = sqlite3.connect(f"file:{path}?mode={mode}", uri=True)
        try:
            row = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is a corrupt SQLite database: {exc}") from exc
    if row is None or row[0] != "ok":
        raise StoreError(f"{path} is a corrupt SQLite database: {row[0] if row else 'no answer'}")


def parse_mysql_url(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
        raise ConfigError(f"a MySQL store URL starts with mysql://, got {_redact(url)!r}")
    database = parts.path.lstrip("/")
    if not parts.hostname or not database:
        raise ConfigError(
            f"a MySQL store URL names a host and a database (mysql://user:pw@host:3306/db), "
            f"got {_redact(url)!r}"
        )
    try:
        port = parts.port or 3306
    except ValueError as exc:
        raise ConfigError(f"bad port in MySQL URL {_redact(url)!r}") from exc
    return {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "database": database,
    }


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def open_mysql(url: str) -> MlmdStore:
    params = parse_mysql_url(url)
    where = f"MySQL {params['user']}@{params['host']}:{params['port']}/{params['database']}"
    try:
        import pymysql
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("the MySQL store needs: pip install 'kfp-lineage[mysql]'") from exc

    def connect(database: str | None = params["database"]) -> Any:
        return pymysql.connect(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            database=database,
            connect_timeout=10,
        )

    # Probe first: MLMD's own client reports a refused login or an unknown
    # host as a bare INTERNAL error, and may hang on a wrong port.
    try:
        conn = connect(database=None)
        try:
            name = params["database"].replace("`", "``")
            conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")
        finally:
            conn.close()
    except pymysql.MySQLError as exc:
        raise ConfigError(
            f"cannot connect to {where}: {exc.args[-1] if exc.args else exc}"
        ) from exc
    mlmd = open_mlmd(mysql_config(params), where)
    return MlmdStore(mlmd, "mysql", where, SqlCounter(connect))


def open_grpc(address: str, timeout_s: float = 10.0) -> MlmdStore:
    mlmd = connect_grpc(address, timeout_s)
    return MlmdStore(mlmd, "grpc", address, ListingCounter(mlmd))


def connect_grpc(address: str, timeout_s: float = 10.0) -> metadata_store.MetadataStore:
    """An MLMD client for a gRPC server, asked once so a dead address fails here."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"an MLMD gRPC address is host:port, got {address!r}")
    config = pb.MetadataStoreClientConfig(host=host, port=int(port))
    config.client_timeout_sec = timeout_s
    try:
        mlmd = metadata_store.MetadataStore(config)
        mlmd.get_context_types()  # the client connects lazily: ask once to know
    except mlmd_errors.StatusError as exc:
        raise UnavailableError(
            f"no MLMD gRPC server answers at {address}: {str(exc).splitlines()[0]}"
        ) from exc
    return mlmd


def mysql_config(params: dict[str, Any]) -> pb.ConnectionConfig:
    config = pb.ConnectionConfig()
    for key in ("host", "port", "user", "password", "database"):
        setattr(config.mysql, key, params[key])
    return config


def open_mlmd(config: pb.ConnectionConfig, where: str) -> metadata_store.MetadataStore:
    try:
        return metadata_store.MetadataStore(config)
    except mlmd_errors.StatusError as exc:
        raise StoreError(f"cannot open {where}: {str(exc).splitlines()[0]}") from exc
