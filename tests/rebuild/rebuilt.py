"""A rebuild made of two real runs: `lineage run` of one pipeline twice, the second
standing for the rebuilt run, and the ``RebuildResult`` that compares them output by
output (no plan is executed here: only the record of a rebuild is under test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lineage.model import run_id
from lineage.rebuild.verdict import OutputVerdict, RebuildResult, Verdict, worst
from lineage.store.connect import open_sqlite
from lineage.store.mlmd import MlmdStore

REPO = Path(__file__).resolve().parents[2]
LINEAGE = Path(sys.executable).parent / "lineage"
PIPELINE = "tests/rebuild/pipelines.py:imported"
PLAN_ID = "plan:sha256:" + "0" * 64  # the record keeps a plan id; no plan is needed here
CAVEAT = "the runner did not enforce images"


def lineage(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEAGE_")}
    env["LINEAGE_HOME"] = str(home)
    return subprocess.run(
        [str(LINEAGE), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )


@dataclass
class TwoRuns:
    home: Path
    original: dict[str, Any]  # `lineage run --json` of each run
    rebuilt: dict[str, Any]

    def store(self) -> MlmdStore:
        return open_sqlite(self.home / "mlmd.sqlite")

    def artifact(self, which: str, task: str, name: str) -> dict[str, Any]:
        summary = self.original if which == "original" else self.rebuilt
        found = next(t for t in summary["tasks"] if t["name"] == task)
        return dict(found["outputs"][name])

    def result(self, **changes: Any) -> RebuildResult:
        """The rebuild of the original run's model by the second run, output by output."""
        outputs = []
        for task, name in (("prepare", "data"), ("fit", "model"), ("score", "metrics")):
            was, now = self.artifact("original", task, name), self.artifact("rebuilt", task, name)
            same = was["digest"] == now["digest"]
            outputs.append(
                OutputVerdict(
                    task=task,
                    output=name,
                    original=was["id"],
                    expected_digest=was["digest"],
                    verdict=Verdict.IDENTICAL if same else Verdict.DIVERGENT,
                    rebuilt=now["id"],
                    actual_digest=now["digest"],
                )
            )
        result = RebuildResult(
            plan_id=PLAN_ID,
            model=self.artifact("original", "fit", "model")["id"],
            environment="b",
            runner="lineage.SubprocessRunner",
            verdict=worst([o.verdict for o in outputs]),
            outputs=tuple(outputs),
            run=run_id(self.rebuilt["run_id"]),
            caveats=(CAVEAT,),
            started="2026-01-01T00:00:00Z",
            finished="2026-01-01T00:01:00Z",
        )
        return replace(result, **changes)


def two_runs(base: Path) -> TwoRuns:
    raw = base / "lake" / "raw.csv"
    raw.parent.mkdir(parents=True)
    raw.write_text("".join(f"{i},{i * i}\n" for i in range(6)))
    home = base / "home"
    runs = []
    for root in ("root-a", "root-b"):
        argv = ["run", PIPELINE, "--arg", f"data_uri={raw}", "--pipeline-root", str(base / root)]
        out = lineage([*argv, "--json"], home)
        assert out.returncode == 0, out.stderr[-3000:]
        runs.append(json.loads(out.stdout))
    return TwoRuns(home, runs[0], runs[1])
