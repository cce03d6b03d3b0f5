"""Each task shows the tag it ran, even when one digest is pushed under several tags.

Run A's pod ran ``train:v1``; later, run B's pod ran ``train:v2``, the same digest. The
image node is shared (one digest), so the tag each task ran is kept on its own image
event, and the API answers it per task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from lineage.api.config import ApiSettings
from lineage.api.http.app import create_app
from lineage.api.http.runtime import open_shared
from lineage.ingest.k8s.pods import ingest_pods
from lineage.ingest.report import IngestReport
from lineage.model import Context, Execution, KfpType, RunRecord, image_id
from lineage.settings import Settings
from lineage.store.connect import open_sqlite
from tests.api.conftest import gql

NS = "team-a"
REPO = "registry.example.com/ml/train"
DIGEST = "sha256:" + "5e" * 32


def _task(run: str) -> RunRecord:
    return RunRecord(
        contexts=(Context(f"run:{run}", KfpType.PIPELINE_RUN, run, {"namespace": NS}),),
        executions=(
            Execution(
                f"task:{run}/train",
                KfpType.CONTAINER_EXECUTION,
                properties={"task_name": "train", "pod_name": f"{run}-train", "namespace": NS},
            ),
        ),
    )


def _pod(run: str, tag: str) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{run}-train", "namespace": NS},
        "spec": {"containers": [{"name": "main", "image": f"{REPO}:{tag}"}]},
        "status": {
            "containerStatuses": [
                {"name": "main", "image": f"{REPO}:{tag}", "imageID": f"{REPO}@{DIGEST}"}
            ]
        },
    }


def test_each_task_keeps_the_tag_it_ran(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = open_sqlite(home / "mlmd.sqlite")
    try:
        for run, tag in (("a", "v1"), ("b", "v2")):  # b ran later, same digest
            store.put_run(_task(run))
            report = IngestReport("pods")
            assert ingest_pods(store, [_pod(run, tag)], report) == []
            assert report.failed == 0
        [node] = store.get_artifacts([image_id(REPO, DIGEST)])
        assert node.properties["tag"] == "v1"  # the first recorded: a later push moves nothing
    finally:
        store.close()

    settings = Settings(home=home)
    query = (
        "query T($a: ID!, $b: ID!) { a: task(id: $a) { image { tag digest knownBy } } "
        "b: task(id: $b) { image { tag digest knownBy } } }"
    )
    with open_shared(settings, ApiSettings()) as shared:
        app = create_app(settings, ApiSettings(), shared=shared, audit=False)
        with TestClient(app) as client:
            answer = gql(client, query, {"a": "task:a/train", "b": "task:b/train"})
    assert answer["data"] == {
        "a": {"image": {"tag": "v1", "digest": DIGEST, "knownBy": "pod"}},
        "b": {"image": {"tag": "v2", "digest": DIGEST, "knownBy": "pod"}},
    }
