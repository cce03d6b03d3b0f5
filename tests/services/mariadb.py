"""A real MariaDB on a free loopback port, for MLMD's MySQL backend."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import pymysql

from tests.services.process import (
    ServiceError,
    _Service,
    find_binary,
    log_tail,
)


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
