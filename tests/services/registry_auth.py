"""Loopback servers for the image tests: a JWT token service, a registry that trusts it,
and a scriptable HTTP server for responses no honest registry sends (429, tampering).

Nothing here mocks our own code: the token service and proxy speak plain HTTP to the
real docker-registry and to the client under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.services import RegistryService, find_binary

Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str]], Reply]  # (method, path?query, headers) -> reply


@contextmanager
def http_server(handle: Handler) -> Iterator[str]:
    """Serve ``handle`` on a free loopback port; yields the base URL."""

    class _H(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            status, headers, body = handle(self.command, self.path, dict(self.headers.items()))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = _reply  # noqa: N815 - the names http.server dispatches on

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def forward(upstream: str, method: str, path: str, headers: dict[str, str]) -> Reply:
    keep = {k: v for k, v in headers.items() if k.lower() in ("accept", "authorization")}
    response = httpx.request(method, upstream + path, headers=keep, timeout=10)
    out = {
        k: v
        for k, v in response.headers.items()
        if k.lower() in ("content-type", "docker-content-digest", "www-authenticate")
    }
    if method == "HEAD" and "content-length" in response.headers:
        out["Content-Length"] = response.headers["content-length"]
    return response.status_code, out, response.content


@dataclass
class TokenIssuer:
    """Signs registry tokens (ES256) with a key whose self-signed certificate is the
    registry's rootcertbundle; it checks a single user's password."""

    user: str = "lineage"
    password: str = "s3cret-test-pw"
    service: str = "lineage-test-registry"
    issuer: str = "lineage-test-issuer"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    issued: int = 0

    def certificate(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lineage test token signer")])
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def handle(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if auth != f"Basic {expected}":
            return 401, {"Content-Type": "application/json"}, b'{"details":"bad credentials"}'
        query = parse_qs(urlsplit(path).query)
        access = []
        for scope in query.get("scope", []):
            kind, name, actions = scope.split(":")[0], scope.split(":")[1], scope.split(":")[2]
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.user,
            "aud": self.service,
            "iat": now,
            "nbf": now - 30,
            "exp": now + 600,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        cert = self.certificate_der
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [cert]})
        self.issued += 1
        body = f'{{"token": "{token}", "access_token": "{token}"}}'.encode()
        return 200, {"Content-Type": "application/json"}, body

    @property
    def certificate_der(self) -> str:
        if not hasattr(self, "_der"):
            self._cert = self.certificate()
            self._der = base64.b64encode(
                self._cert.public_bytes(serialization.Encoding.DER)
            ).decode()
        return self._der

    def bundle_pem(self) -> bytes:
        self.certificate_der  # noqa: B018 - builds the certificate once
        return self._cert.public_bytes(serialization.Encoding.PEM)


class TokenRegistryService(RegistryService):
    """A docker-registry that accepts only bearer tokens from ``realm``."""

    name = "registry-token"

    def __init__(self, issuer: TokenIssuer, realm: str) -> None:
        super().__init__()
        self.issuer = issuer
        self.realm = realm

    def _start(self) -> None:
        binary = find_binary("docker-registry", "registry")
        bundle = self.home / "token-ca.pem"
        bundle.write_bytes(self.issuer.bundle_pem())
        config = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.home / "storage")}},
            "http": {"addr": self.address},
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": self.issuer.service,
                    "issuer": self.issuer.issuer,
                    "rootcertbundle": str(bundle),
                }
            },
        }
        path = self.home / "config.yml"
        path.write_text(yaml.safe_dump(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        proc = self._spawn([binary, "serve", str(path)], env)
        # With token auth the base endpoint answers 401 and a challenge once it is up.
        proc.wait_ready(
            lambda: httpx.get(f"{self.url}/v2/", timeout=2.0).status_code == 401, self.timeout
        )


def docker_config(directory: Path, registry: str, user: str, password: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path = directory / "config.json"
    path.write_text(f'{{"auths": {{"{registry}": {{"auth": "{token}"}}}}}}')
    return path
