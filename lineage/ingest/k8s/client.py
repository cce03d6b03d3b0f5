"""A Kubernetes API client from a kubeconfig or the in-cluster service account.

Objects are read as raw JSON (``_preload_content=False``), so the ingestors work on
the same dictionaries the API sends and the recorded fixtures hold.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lineage.errors import ConfigError, UnavailableError


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> Any:
    """A ``kubernetes.client.ApiClient``: ``kubeconfig`` if given, in-cluster when running in
    a pod, else the default kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    try:
        from kubernetes import client, config
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigError("reading Kubernetes needs: pip install 'kfp-lineage[k8s]'") from exc
    configuration = client.Configuration()
    try:
        if kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                context=context,
                client_configuration=configuration,
            )
    except (config.ConfigException, OSError, TypeError, ValueError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        raise ConfigError(f"cannot load Kubernetes config from {where}: {exc}") from exc
    return client.ApiClient(configuration)


def read_json(response: Any, what: str) -> dict[str, Any]:
    """Decode a raw (unpreloaded) API response."""
    try:
        doc = json.loads(response.data)
    except ValueError as exc:
        raise UnavailableError(f"the Kubernetes API sent no JSON for {what}") from exc
    if not isinstance(doc, dict):
        raise UnavailableError(f"the Kubernetes API sent no object for {what}")
    return doc


def api_error(exc: Exception, what: str) -> UnavailableError | ConfigError:
    """A clear error for a failed API call: RBAC refusals are configuration."""
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    if status in (401, 403):
        return ConfigError(
            f"the Kubernetes API refused to {what} (HTTP {status}: {reason}); "
            "check the service account's RBAC (see ingest/k8s/)"
        )
    return UnavailableError(f"cannot {what}: {reason}")
