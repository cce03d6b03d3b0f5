"""Opening a KFP ML Metadata store as a read-only source.

The source belongs to KFP: we never write to it. SQLite opens in MLMD's READONLY mode,
so even a bug cannot write; MySQL and gRPC are only ever read (no type registration,
no ``put_*``), and a MySQL database that does not exist is an error, never created.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from lineage.errors import ConfigError, StoreError
from lineage.store.connect import connect_grpc, mysql_config, open_mlmd, parse_mysql_url

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Ghosts:
    """Rows a damaged store still names but no longer holds.

    MLMD's C++ core aborts the whole process (a CHECK failure) when it reads a node
    whose row is gone but whose properties or attributions remain, so such rows are
    found with plain SQL first and never asked of MLMD: the units that name them fail
    with a clear message instead.
    """

    artifacts: frozenset[int] = frozenset()
    executions: frozenset[int] = frozenset()
    contexts: frozenset[int] = frozenset()
    # context row -> rows it attributes/associates that are gone
    context_artifacts: Mapping[int, frozenset[int]] = field(default_factory=dict)
    context_executions: Mapping[int, frozenset[int]] = field(default_factory=dict)


_GHOST_QUERIES = {
    # Nodes named by their property rows, attributions, associations or events, but gone.
    "artifacts": (
        "SELECT DISTINCT p.artifact_id FROM ArtifactProperty p "
        "LEFT JOIN Artifact a ON a.id = p.artifact_id WHERE a.id IS NULL "
        "UNION SELECT DISTINCT t.artifact_id FROM Attribution t "
        "LEFT JOIN Artifact a ON a.id = t.artifact_id WHERE a.id IS NULL "
        "UNION SELECT DISTINCT v.artifact_id FROM Event v "
        "LEFT JOIN Artifact a ON a.id = v.artifact_id WHERE a.id IS NULL"
    ),
    "executions": (
        "SELECT DISTINCT p.execution_id FROM ExecutionProperty p "
        "LEFT JOIN Execution e ON e.id = p.execution_id WHERE e.id IS NULL "
        "UNION SELECT DISTINCT s.execution_id FROM Association s "
        "LEFT JOIN Execution e ON e.id = s.execution_id WHERE e.id IS NULL "
        "UNION SELECT DISTINCT v.execution_id FROM Event v "
        "LEFT JOIN Execution e ON e.id = v.execution_id WHERE e.id IS NULL"
    ),
    "contexts": (
        "SELECT DISTINCT p.context_id FROM ContextProperty p "
        "LEFT JOIN Context c ON c.id = p.context_id WHERE c.id IS NULL "
        "UNION SELECT DISTINCT pc.parent_context_id FROM ParentContext pc "
        "LEFT JOIN Context c ON c.id = pc.parent_context_id WHERE c.id IS NULL"
    ),
    "context_artifacts": (
        "SELECT t.context_id, t.artifact_id FROM Attribution t "
        "LEFT JOIN Artifact a ON a.id = t.artifact_id WHERE a.id IS NULL"
    ),
    "context_executions": (
        "SELECT s.context_id, s.execution_id FROM Association s "
        "LEFT JOIN Execution e ON e.id = s.execution_id WHERE e.id IS NULL"
    ),
}


def find_ghosts(cursor: Any) -> Ghosts:
    """Read-only anti-joins over MLMD's tables (the same SQL on SQLite and MySQL)."""
    found: dict[str, Any] = {}
    for name, query in _GHOST_QUERIES.items():
        cursor.execute(query)
        rows = cursor.fetchall()
        if name.startswith("context_"):
            pairs: dict[int, set[int]] = {}
            for ctx, node in rows:
                pairs.setdefault(int(ctx), set()).add(int(node))
            found[name] = {ctx: frozenset(nodes) for ctx, nodes in pairs.items()}
        else:
            found[name] = frozenset(int(r[0]) for r in rows)
    return Ghosts(**found)


@dataclass(frozen=True)
class MlmdSource:
    """A source MLMD client and who it is. ``identity`` names the source in the watermark
    key and in ids of nodes that have no identity of their own; it holds no secret."""

    mlmd: metadata_store.MetadataStore
    identity: str
    ghosts: Ghosts = field(default_factory=Ghosts)  # unknown over gRPC: MLMD's API only

    @property
    def key(self) -> str:
        """A short stable token for the source, for ids that must not collide across sources."""
        return hashlib.sha256(self.identity.encode()).hexdigest()[:12]


def open_sqlite_source(path: Path) -> MlmdSource:
    path = path.expanduser()
    if not path.is_file():
        raise ConfigError(f"no MLMD SQLite file at {path}")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise ConfigError(f"cannot read the MLMD file {path}: {exc.strerror}") from exc
    if head != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a SQLite database")
    journal = path.with_name(path.name + "-journal")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            # MLMD would try to create its schema, which READONLY mode refuses with a bare error.
            if "MLMDEnv" not in tables:
                raise StoreError(f"{path} is a SQLite database but not an ML Metadata store")
            # A damaged page may lie where no query of ours reads it, and MLMD reads what
            # it can: check the whole file first, so a damaged source is never half-read.
            problems = _problems(conn.execute("PRAGMA quick_check").fetchall())
            ghosts = find_ghosts(conn.cursor())
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if journal.is_file() and "readonly" in str(exc):
            raise StoreError(
                f"{path} has an unfinished transaction ({journal} is a hot journal) that only "
                "a writer may roll back, and a source is only read: let its owner (KFP's "
                "metadata service) open it first"
            ) from exc
        raise StoreError(f"{path} is a corrupt SQLite database: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is a corrupt SQLite database: {exc}") from exc
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise StoreError(f"{path} is a corrupt SQLite database: quick_check: {first}{more}")
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
    mlmd = open_mlmd(config, f"the MLMD SQLite source {path}")
    return MlmdSource(mlmd, f"sqlite:{path.resolve()}", ghosts)


def _problems(rows: list[Any]) -> list[str]:
    """quick_check's findings, one a line (it packs several in a row), none when it is ok."""
    lines = [line for row in rows for line in str(row[0]).splitlines()]
    if lines == ["ok"]:
        return []
    found = [line for line in lines if not line.startswith("*** ")]  # "*** in database main"
    return found or ["quick_check gave no answer"]


def open_mysql_source(url: str) -> MlmdSource:
    params = parse_mysql_url(url)
    where = f"{params['host']}:{params['port']}/{params['database']}"
    try:
        import pymysql
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError(
            "reading MLMD from MySQL needs: pip install 'kfp-lineage[mysql]'"
        ) from exc
    # Probe first: MLMD reports a refused login as a bare INTERNAL error, and would
    # create a missing database; a source that does not exist is a mistake to report.
    try:
        conn = pymysql.connect(
            host=params["host"],
            port=params["port"],
            user=params["user"],
            password=params["password"],
            database=params["database"],
            connect_timeout=10,
        )
        try:
            cur = conn.cursor()
            cur.execute("SHOW TABLES LIKE 'MLMDEnv'")
            is_mlmd = cur.fetchone() is not None
            ghosts = find_ghosts(cur) if is_mlmd else Ghosts()
        finally:
            conn.close()
    except pymysql.MySQLError as exc:
        raise ConfigError(
            f"cannot read the MLMD source mysql://{where}: {exc.args[-1] if exc.args else exc}"
        ) from exc
    if not is_mlmd:
        raise StoreError(f"mysql://{where} is not an ML Metadata database")
    mlmd = open_mlmd(mysql_config(params), f"the MLMD source mysql://{where}")
    return MlmdSource(mlmd, f"mysql://{where}", ghosts)


def open_grpc_source(address: str, timeout_s: float = 10.0) -> MlmdSource:
    return MlmdSource(connect_grpc(address, timeout_s), f"grpc:{address}")
