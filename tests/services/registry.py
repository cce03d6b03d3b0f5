"""A real docker-registry (the CNCF distribution) on a free loopback port."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import yaml

from tests.services.oci import push as push_layout
from tests.services.process import (
    _Service,
    find_binary,
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
        push_layout(layout_dir, f"{self.address}/{reference}", layout_tag=layout_tag)

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
