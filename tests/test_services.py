"""Proves each real service in tests/services/ works end to end, with no mocks."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
import neo4j
import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tests.services import (
    OCI_INDEX,
    OCI_MANIFEST,
    MariaDBService,
    Neo4jService,
    RegistryService,
    build_oci_index_layout,
    build_oci_layout,
    layout_digest,
    wipe_neo4j,
)


def test_neo4j_cypher_round_trip(neo4j_driver: neo4j.Driver) -> None:
    neo4j_driver.execute_query(
        "CREATE (:Model {name: $name, version: $version})", name="churn", version=3
    )
    records = neo4j_driver.execute_query(
        "MATCH (m:Model {name: $name}) RETURN m.version AS version", name="churn"
    ).records
    assert [r["version"] for r in records] == [3]


def test_wipe_neo4j_empties_graph_and_schema(neo4j_driver: neo4j.Driver) -> None:
    neo4j_driver.execute_query(
        "CREATE CONSTRAINT model_name FOR (m:Model) REQUIRE m.name IS UNIQUE"
    )
    neo4j_driver.execute_query("CREATE INDEX model_stage FOR (m:Model) ON (m.stage)")
    neo4j_driver.execute_query("CREATE (:Model {name: 'a', stage: 'prod'})")

    wipe_neo4j(neo4j_driver)  # what the fixture runs before every test
    count = neo4j_driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"]
    constraints = neo4j_driver.execute_query("SHOW CONSTRAINTS").records
    indexes = neo4j_driver.execute_query("SHOW INDEXES WHERE type <> 'LOOKUP'").records
    assert (count, constraints, indexes) == (0, [], [])


def test_neo4j_restart_keeps_data(neo4j_service: Neo4jService, neo4j_driver: neo4j.Driver) -> None:
    neo4j_driver.execute_query("CREATE (:Marker {id: 'before-restart'})")
    uri = neo4j_service.bolt_uri

    neo4j_service.stop()
    with pytest.raises(neo4j.exceptions.ServiceUnavailable):
        neo4j_driver.verify_connectivity()
    neo4j_service.start()

    assert neo4j_service.bolt_uri == uri  # clients keep their URI across the restart
    # The same driver recovers: its pooled connections died with the old server.
    records = neo4j_driver.execute_query("MATCH (m:Marker) RETURN m.id AS id").records
    assert [r["id"] for r in records] == ["before-restart"]


def test_mlmd_round_trip_on_mariadb(mysql_url: str) -> None:
    url = urlsplit(mysql_url)
    config = metadata_store_pb2.ConnectionConfig()
    config.mysql.host = url.hostname or ""
    config.mysql.port = url.port or 3306
    config.mysql.database = url.path.lstrip("/")
    config.mysql.user = unquote(url.username or "")
    config.mysql.password = unquote(url.password or "")
    store = metadata_store.MetadataStore(config)

    model_type = metadata_store_pb2.ArtifactType(name="Model")
    model_type.properties["version"] = metadata_store_pb2.INT
    type_id = store.put_artifact_type(model_type)
    artifact = metadata_store_pb2.Artifact(type_id=type_id, uri="gs://bucket/model")
    artifact.properties["version"].int_value = 7
    [artifact_id] = store.put_artifacts([artifact])

    [stored] = store.get_artifacts_by_id([artifact_id])
    assert (stored.uri, stored.properties["version"].int_value) == ("gs://bucket/model", 7)
    assert store.get_artifact_type("Model").id == type_id


def test_mysql_url_is_a_fresh_database(mariadb_service: MariaDBService, mysql_url: str) -> None:
    database = urlsplit(mysql_url).path.lstrip("/")
    with mariadb_service.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()
        cur.execute("SELECT @@character_set_database")
        assert cur.fetchone() == ("utf8mb4",)


def _head_digest(registry: RegistryService, repo: str, tag: str, accept: str) -> str:
    response = httpx.head(
        f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=10
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def _get_manifest(registry: RegistryService, repo: str, tag: str, accept: str) -> bytes:
    response = httpx.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=10
    )
    response.raise_for_status()
    return response.content


def test_registry_push_and_digest(registry_service: RegistryService, tmp_path: Path) -> None:
    layout = build_oci_layout(tmp_path / "image", {"model/weights.bin": b"\x00\x01tiny"})
    registry_service.push(layout, "lineage/tiny:v1")

    head = _head_digest(registry_service, "lineage/tiny", "v1", OCI_MANIFEST)
    body = _get_manifest(registry_service, "lineage/tiny", "v1", OCI_MANIFEST)
    inspected = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            f"docker://{registry_service.address}/lineage/tiny:v1",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(body)["mediaType"] == OCI_MANIFEST
    assert head == json.loads(inspected.stdout)["Digest"]
    assert head == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert head == layout_digest(layout)  # the registry kept the bytes we built


def test_registry_push_multi_arch_index(registry_service: RegistryService, tmp_path: Path) -> None:
    layout = build_oci_index_layout(tmp_path / "index", {"app/run.sh": b"#!/bin/sh\n"})
    registry_service.push(layout, "lineage/multi:v1")

    head = _head_digest(registry_service, "lineage/multi", "v1", OCI_INDEX)
    index = json.loads(_get_manifest(registry_service, "lineage/multi", "v1", OCI_INDEX))
    assert head == layout_digest(layout)
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == [
        "amd64",
        "arm64",
    ]
    for child in index["manifests"]:  # --all pushed every platform, not just the host's
        digest = _head_digest(registry_service, "lineage/multi", child["digest"], OCI_MANIFEST)
        assert digest == child["digest"]
