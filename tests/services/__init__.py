"""Real Neo4j, MariaDB and OCI registry processes for the test suite.

Each service runs on a free loopback port with its data in a temporary directory, logs
to a file in that directory, and is stopped by killing its whole process group. Nothing
here depends on pytest: tests/conftest.py decides whether a failure skips or fails.
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx
import neo4j
import pymysql
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
NEO4J_RUN = REPO_ROOT / "tools" / "neo4j" / "run"


class ServiceError(RuntimeError):
    """A service could not be started (missing binary, crash, or not ready in time)."""


def on_ci() -> bool:
    """CI must run every service test, so there a service that cannot start is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1, for a server to bind right after
    (_Service.start moves to another one if something else got there first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(*names: str) -> str:
    """First of `names` on PATH or in the sbin dirs (mariadbd lives in /usr/sbin, which
    is not on a normal user's PATH)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    missing = f"{names[0]} is not" if len(names) == 1 else f"none of {', '.join(names)} is"
    raise ServiceError(f"{missing} installed (see scripts/install-services)")


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log written)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


class _Process:
    """One child process in its own process group, with stdout+stderr appended to a log."""

    _running: ClassVar[set[_Process]] = set()  # for the atexit safety net

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self, env: Mapping[str, str] | None = None) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            # A new session makes the child a group leader, so stop() also reaches whatever
            # it spawns (e.g. mvn when tools/neo4j/run resolves the classpath).
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
        _Process._running.add(self)

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM for a clean shutdown (flushed stores); SIGKILL if it takes too long."""
        popen, self._popen = self._popen, None
        _Process._running.discard(self)
        if popen is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):  # already gone
                os.killpg(popen.pid, sig)
            try:
                popen.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
        raise ServiceError(f"{self.name} (pid {popen.pid}) did not exit after SIGKILL")

    def wait_ready(self, check: Callable[[], bool], timeout: float) -> float:
        """Poll `check` until it is true; returns the seconds it took. Raises with the log
        tail if the process dies or the timeout passes, so CI output shows why."""
        started = time.monotonic()
        last_error = ""
        while time.monotonic() - started < timeout:
            if not self.alive:
                code = self.exit_code
                self.stop(timeout=10)  # reap anything it left behind in its group
                raise ServiceError(
                    f"{self.name} exited with code {code} before it was ready; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            try:
                if check():
                    return time.monotonic() - started
            except Exception as exc:  # not up yet: connection refused, handshake, ...
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.25)
        self.stop(timeout=10)
        raise ServiceError(
            f"{self.name} not ready after {timeout:.0f}s (last error: {last_error or 'none'}); "
            f"log {self.log_path}:\n{log_tail(self.log_path)}"
        )


@atexit.register
def _stop_leftovers() -> None:
    # Interrupted sessions skip fixture teardown; never leave servers behind.
    for proc in list(_Process._running):
        proc.stop(timeout=15)


class _Service:
    """Shared lifecycle: a temporary home, start/stop, close() removes the home."""

    name = "service"

    def __init__(self, home: Path | None = None, port: int | None = None) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix=f"lineage-{self.name}-"))
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        # A port we picked may be taken (by another test session, or by some client's
        # ephemeral port) before the server binds it; then the first start tries another.
        self._may_move_port = port is None
        self.log_path = self.home / f"{self.name}.log"
        self.startup_seconds: float | None = None  # of the latest start(), for reports
        self._proc: _Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive

    def start(self) -> Self:
        if self.running:
            return self
        started = time.monotonic()
        for attempt in range(3):
            try:
                self._start()
                break
            except ServiceError as exc:
                lost_port = "address already in use" in str(exc).lower()
                if not (lost_port and self._may_move_port and attempt < 2):
                    raise
                self.port = free_port()
        # Restarts must come back on the same port: clients keep their URI.
        self._may_move_port = False
        self.startup_seconds = time.monotonic() - started
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def _spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> _Process:
        self._proc = _Process(self.name, argv, self.log_path)
        self._proc.start(env)
        return self._proc

    def stop(self) -> None:
        """Stops the process but keeps data and port, so start() resumes the same server."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Neo4jService(_Service):
    """Embedded Neo4j Community 5.26 (tools/neo4j), Bolt only, no auth."""

    name = "neo4j"

    def __init__(
        self,
        home: Path | None = None,
        port: int | None = None,
        timeout: float = 180.0,
        settings: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(home, port)
        self.timeout = timeout  # generous: the first start may resolve jars with Maven
        # The launcher's -Dlineage.neo4j.<name> settings (tools/neo4j/Launcher.java), e.g.
        # {"txtimeout.ms": 500, "txmax.kb": 4096} for a server with tight transaction limits.
        self.settings = dict(settings or {})

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    def driver(self, **config: Any) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(self.bolt_uri, auth=None, **config)

    def _start(self) -> None:
        find_binary("java")
        env = None
        if self.settings:
            opts = " ".join(f"-Dlineage.neo4j.{k}={int(v)}" for k, v in self.settings.items())
            env = {**os.environ, "LINEAGE_NEO4J_OPTS": opts}
        proc = self._spawn([str(NEO4J_RUN), str(self.home / "server"), str(self.port)], env)

        def connected() -> bool:
            # Bound the Bolt handshake too (acquisition timeout, 60s by default): a port
            # that accepts but never answers must not stall the readiness loop.
            with self.driver(connection_timeout=2.0, connection_acquisition_timeout=5.0) as driver:
                driver.verify_connectivity()
            return True

        proc.wait_ready(connected, self.timeout)


def _quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def wipe_neo4j(driver: neo4j.Driver) -> None:
    """Empties the graph and its schema, leaving the built-in token lookup indexes."""
    driver.execute_query("MATCH (n) DETACH DELETE n")
    # Constraints first: dropping one also drops the index that backs it.
    for record in driver.execute_query("SHOW CONSTRAINTS YIELD name").records:
        driver.execute_query(f"DROP CONSTRAINT {_quote_name(record['name'])} IF EXISTS")
    indexes = driver.execute_query(
        "SHOW INDEXES YIELD name, type, owningConstraint "
        "WHERE type <> 'LOOKUP' AND owningConstraint IS NULL RETURN name"
    )
    for record in indexes.records:
        driver.execute_query(f"DROP INDEX {_quote_name(record['name'])} IF EXISTS")


class MariaDBService(_Service):
    """A private mariadbd with one password user that MLMD's C++ client can log in as."""

    name = "mariadb"

    def __init__(
        self,
        home: Path | None = None,
        port: int | None = None,
        user: str = "lineage",
        password: str = "lineage-test-pw",
        timeout: float = 60.0,
    ) -> None:
        # Both are spliced into init.sql; keep them to characters that need no escaping.
        if not (re.fullmatch(r"[\w.-]+", user) and re.fullmatch(r"[\w.-]+", password)):
            raise ValueError("MariaDB test user and password: letters, digits, _ . - only")
        super().__init__(home, port)
        self.host = "127.0.0.1"
        self.user = user
        self.password = password
        self.timeout = timeout

    def url(self, database: str) -> str:
        return (
            f"mysql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{database}"
        )

    def connect(
        self, database: str | None = None, read_timeout: float | None = None
    ) -> pymysql.connections.Connection:
        # connect_timeout covers only the TCP connect; read_timeout also bounds the wait for
        # the server greeting, which the readiness probe needs.
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            connect_timeout=5,
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Drops and re-creates `name`; returns its URL."""
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
            raise ValueError(f"unsafe database name {name!r}")
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", name):
            raise ValueError(f"unsafe database name {name!r}")
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def _server_args(self) -> list[str]:
        datadir = self.home / "data"
        args = [
            "--no-defaults",  # ignore /etc/mysql: the system server's config is not ours
            f"--datadir={datadir}",
            # Small test footprint; a 96M redo log per session is wasted disk.
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
        ]
        # mariadbd refuses to run as root unless told to; as a normal user it runs as itself.
        if os.geteuid() == 0:
            args.append("--user=root")
        return args

    def _start(self) -> None:
        install_db = find_binary("mariadb-install-db", "mysql_install_db")
        mariadbd = find_binary("mariadbd", "mysqld")
        if not (self.home / "data" / "mysql").is_dir():
            self._install(install_db)
        # Runs before the server accepts connections, with full privileges, on every start:
        # install-db bootstraps with grant tables off, so it cannot create users itself.
        # mysql_native_password: MLMD statically links MariaDB Connector/C 3.0 with no
        # other auth plugin compiled in, so ed25519 or caching_sha2 accounts cannot log in.
        init_sql = self.home / "init.sql"
        account = f"'{self.user}'@'%'"
        auth = f"IDENTIFIED VIA mysql_native_password USING PASSWORD('{self.password}')"
        init_sql.write_text(
            f"CREATE USER IF NOT EXISTS {account} {auth};\n"
            f"ALTER USER {account} {auth};\n"
            f"GRANT ALL PRIVILEGES ON *.* TO {account} WITH GRANT OPTION;\n"
        )
        proc = self._spawn(
            [
                mariadbd,
                *self._server_args(),
                f"--socket={self.home / 'mysqld.sock'}",
                f"--pid-file={self.home / 'mysqld.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                # Grants by IP: '%' then matches 127.0.0.1 and no anonymous ''@'localhost'
                # account can shadow ours.
                "--skip-name-resolve",
                # Plain TCP; newer MariaDB auto-generates certs that clients may reject.
                "--skip-ssl",
                # MariaDB's compiled-in default is latin1; production servers use utf8mb4.
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                # Durable against a mariadbd crash, not an OS crash: plenty for tests.
                "--innodb-flush-log-at-trx-commit=2",
                f"--init-file={init_sql}",
            ]
        )

        def logged_in() -> bool:
            with self.connect(read_timeout=5) as conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
            return True

        proc.wait_ready(logged_in, self.timeout)

    def _install(self, install_db: str) -> None:
        argv = [
            install_db,
            *self._server_args(),
            "--auth-root-authentication-method=socket",  # root unused; no passwordless TCP root
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        with (self.home / "install.log").open("wb") as log:
            result = subprocess.run(
                argv, stdout=log, stderr=subprocess.STDOUT, timeout=self.timeout, check=False
            )
        if result.returncode != 0:
            raise ServiceError(
                f"mariadb-install-db failed ({result.returncode}):\n"
                f"{log_tail(self.home / 'install.log')}"
            )


class RegistryService(_Service):
    """Debian's docker-registry (distribution 2.x): plain HTTP, filesystem storage."""

    name = "registry"

    def __init__(
        self, home: Path | None = None, port: int | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(home, port)
        self.timeout = timeout

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def push(self, layout_dir: Path, reference: str, *, layout_tag: str = "latest") -> None:
        """Pushes `layout_dir` to `<address>/<reference>` (reference is "repo:tag")."""
        push(layout_dir, f"{self.address}/{reference}", layout_tag=layout_tag)

    def _start(self) -> None:
        binary = find_binary("docker-registry", "registry")
        config = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.home / "storage")},
                "delete": {"enabled": True},
            },
            "http": {"addr": self.address},
        }
        config_path = self.home / "config.yml"
        config_path.write_text(yaml.safe_dump(config))
        # REGISTRY_* variables override the config file; keep the run hermetic.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        proc = self._spawn([binary, "serve", str(config_path)], env)

        def answers() -> bool:
            return httpx.get(f"{self.url}/v2/", timeout=2.0).status_code == 200

        proc.wait_ready(answers, self.timeout)


# --- tiny OCI image layouts, built in pure Python -------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"


def _canonical_json(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def _put_blob(layout: Path, data: bytes, media_type: str) -> dict[str, Any]:
    """Stores `data` under blobs/sha256 and returns its OCI descriptor."""
    digest = hashlib.sha256(data).hexdigest()
    blob_dir = layout / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    (blob_dir / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _layer(files: Mapping[str, bytes]) -> tuple[bytes, str]:
    """A reproducible gzip tar of `files`: same input, same digest. Returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    blob = gzip.compress(tar_bytes, mtime=0)
    return blob, f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"


def _put_image(layout: Path, files: Mapping[str, bytes], arch: str) -> dict[str, Any]:
    layer, diff_id = _layer(files)
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _put_blob(layout, _canonical_json(config), OCI_CONFIG),
        "layers": [_put_blob(layout, layer, OCI_LAYER)],
    }
    descriptor = _put_blob(layout, _canonical_json(manifest), OCI_MANIFEST)
    descriptor["platform"] = {"architecture": arch, "os": "linux"}
    return descriptor


def _write_layout(layout: Path, descriptor: dict[str, Any], tag: str) -> Path:
    """Tags `descriptor` in index.json; other tags already in the layout are kept."""
    (layout / "oci-layout").write_bytes(_canonical_json({"imageLayoutVersion": "1.0.0"}))
    index_path = layout / "index.json"
    entries = json.loads(index_path.read_text())["manifests"] if index_path.exists() else []
    entries = [e for e in entries if e.get("annotations", {}).get(REF_NAME) != tag]
    entries.append({**descriptor, "annotations": {REF_NAME: tag}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    index_path.write_bytes(_canonical_json(index))
    return layout


def build_oci_layout(
    directory: Path, files: Mapping[str, bytes], *, arch: str = "amd64", tag: str = "latest"
) -> Path:
    """A one-layer linux/<arch> image holding `files`, tagged `tag` in an OCI layout."""
    directory.mkdir(parents=True, exist_ok=True)
    return _write_layout(directory, _put_image(directory, files, arch), tag)


def build_oci_index_layout(
    directory: Path,
    files: Mapping[str, bytes],
    *,
    arches: Sequence[str] = ("amd64", "arm64"),
    tag: str = "latest",
) -> Path:
    """A multi-arch image index (linux/amd64 + linux/arm64 by default), tagged `tag`."""
    directory.mkdir(parents=True, exist_ok=True)
    manifests = [_put_image(directory, files, arch) for arch in arches]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    return _write_layout(directory, _put_blob(directory, _canonical_json(index), OCI_INDEX), tag)


def layout_digest(layout_dir: Path, tag: str = "latest") -> str:
    """Digest of the manifest or index tagged `tag`: what a registry must report after a push."""
    index = json.loads((layout_dir / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get(REF_NAME) == tag:
            return str(entry["digest"])
    raise KeyError(f"no {tag!r} in {layout_dir}/index.json")


def _tagged_media_type(layout_dir: Path, tag: str) -> str:
    digest = layout_digest(layout_dir, tag).removeprefix("sha256:")
    blob = json.loads((layout_dir / "blobs" / "sha256" / digest).read_text())
    return str(blob.get("mediaType", OCI_MANIFEST))


def push(layout_dir: Path, reference: str, *, layout_tag: str = "latest") -> None:
    """`skopeo copy` the image tagged `layout_tag` to docker://`reference` over plain HTTP.

    An index is copied with --all so every platform manifest lands in the registry, and
    --preserve-digests makes skopeo fail rather than silently re-encode what we built.
    """
    argv = [
        find_binary("skopeo"),
        "--insecure-policy",  # local test images; do not depend on /etc/containers/policy.json
        "copy",
        "--dest-tls-verify=false",
        "--preserve-digests",
        "--quiet",
    ]
    if _tagged_media_type(layout_dir, layout_tag) == OCI_INDEX:
        argv.append("--all")
    argv += [f"oci:{layout_dir}:{layout_tag}", f"docker://{reference}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed:\n{result.stderr.strip()}")
