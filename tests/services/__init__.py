"""Real Neo4j, MariaDB and OCI registry processes for the test suite.

Each service runs on a free loopback port with its data in a temporary directory, logs
to a file in that directory, and is stopped by killing its whole process group. Nothing
here depends on pytest: tests/conftest.py decides whether a failure skips or fails.

The package starts every real service and replay server the tests use: the launchers
below (one module each), the MLMD gRPC server (mlmd_grpc), the registry's token
service (registry_auth), and the KFP API and Kubernetes API replays (kfp_api_replay,
k8s_api). The names here are the ones tests import.
"""

from tests.services.mariadb import MariaDBService
from tests.services.neo4j import Neo4jService, wipe_neo4j
from tests.services.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    REF_NAME,
    build_oci_index_layout,
    build_oci_layout,
    layout_digest,
    push,
)
from tests.services.process import (
    REPO_ROOT,
    ServiceError,
    find_binary,
    free_port,
    log_tail,
    on_ci,
)
from tests.services.registry import RegistryService

__all__ = [
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "REF_NAME",
    "REPO_ROOT",
    "MariaDBService",
    "Neo4jService",
    "RegistryService",
    "ServiceError",
    "build_oci_index_layout",
    "build_oci_layout",
    "find_binary",
    "free_port",
    "layout_digest",
    "log_tail",
    "on_ci",
    "push",
    "wipe_neo4j",
]
