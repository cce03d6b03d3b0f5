"""Recorded rebuilds read back: ``lineage rebuild ls`` and ``lineage rebuild verify``.

``verify`` checks a finished rebuild again against the bytes the store's rebuilt
artifacts name now: each reachable rebuilt artifact is hashed again and compared with
the plan's expected digest (kept in the record). It writes nothing: a rebuild's record
says what was found when it ran; a check says whether that still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage.digest import content_digest
from lineage.errors import LineageError, NotFoundError
from lineage.model import Execution, LineageType
from lineage.rebuild.record import REBUILD_PREFIX, result_of
from lineage.rebuild.verdict import OutputVerdict, RebuildResult, Verdict, worst
from lineage.store.port import MetadataStore

PAGE = 200


@dataclass(frozen=True, slots=True)
class StoredRebuild:
    id: str
    result: RebuildResult
    recorded_ms: int = 0  # when the store recorded it

    def concerns(self, artifact: str) -> bool:
        """Whether this rebuild is of ``artifact``, or compared it (as original or rebuilt)."""
        if self.result.model == artifact:
            return True
        return any(artifact in (o.original, o.rebuilt) for o in self.result.outputs)

    def as_dict(self) -> dict[str, Any]:
        data = self.result.as_dict()
        data["verdict"] = self.result.verdict.value
        for output in data["outputs"]:
            output["verdict"] = str(output["verdict"])
        return {
            "id": self.id,
            "recorded_ms": self.recorded_ms,
            "hermetic": self.result.hermetic,
            **data,
        }


def _stored(store: MetadataStore, executions: list[Execution]) -> list[StoredRebuild]:
    stamps = store.stamps([e.id for e in executions])
    return [
        StoredRebuild(
            e.id,
            result_of(e.properties),
            stamps[e.id].created_ms if e.id in stamps else 0,
        )
        for e in executions
    ]


def newest_first(rebuilds: list[StoredRebuild]) -> list[StoredRebuild]:
    """By when each finished (ISO 8601 UTC sorts as text), then when it was recorded."""
    return sorted(rebuilds, key=lambda r: (r.result.finished, r.recorded_ms, r.id), reverse=True)


def list_rebuilds(store: MetadataStore, artifact: str | None = None) -> list[StoredRebuild]:
    """Every recorded rebuild (of, or comparing, ``artifact`` when given), newest first."""
    found: list[Execution] = []
    token: str | None = None
    while True:
        page = store.list_executions(type=LineageType.REBUILD, page_size=PAGE, page_token=token)
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            break
    rebuilds = _stored(store, found)
    if artifact is not None:
        rebuilds = [r for r in rebuilds if r.concerns(artifact)]
    return newest_first(rebuilds)


def get_rebuild(store: MetadataStore, rebuild_id: str) -> StoredRebuild:
    """The recorded rebuild; NotFoundError (one line) for any other id."""
    found = store.get_executions([rebuild_id]) if rebuild_id.startswith(REBUILD_PREFIX) else []
    if not found or found[0].type != LineageType.REBUILD:
        raise NotFoundError(f"{rebuild_id}: no such rebuild")
    return _stored(store, found)[0]


@dataclass(frozen=True, slots=True)
class OutputCheck:
    recorded: OutputVerdict
    now: Verdict
    digest: str | None = None  # the digest of the bytes now; None when not reachable
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.now is not self.recorded.verdict


@dataclass(frozen=True, slots=True)
class RebuildCheck:
    rebuild: StoredRebuild
    outputs: tuple[OutputCheck, ...]
    verdict: Verdict = field(default=Verdict.FAILED)

    @property
    def changed(self) -> bool:
        return self.verdict is not self.rebuild.result.verdict or any(
            o.changed for o in self.outputs
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.rebuild.id,
            "recorded_verdict": self.rebuild.result.verdict.value,
            "verdict": self.verdict.value,
            "changed": self.changed,
            "outputs": [
                {
                    "task": o.recorded.task,
                    "output": o.recorded.output,
                    "original": o.recorded.original,
                    "rebuilt": o.recorded.rebuilt,
                    "expected_digest": o.recorded.expected_digest,
                    "recorded_verdict": o.recorded.verdict.value,
                    "digest": o.digest,
                    "verdict": o.now.value,
                    "note": o.note,
                }
                for o in self.outputs
            ],
        }


def _check_output(store: MetadataStore, output: OutputVerdict) -> OutputCheck:
    if output.rebuilt is None:
        return OutputCheck(output, output.verdict, note="no rebuilt artifact: kept as recorded")
    found = store.get_artifacts([output.rebuilt])
    if not found or not found[0].uri:
        return OutputCheck(output, Verdict.MISSING, note="the rebuilt artifact is not in the store")
    uri = found[0].uri
    try:
        digest = content_digest(uri).value
    except (LineageError, OSError) as exc:
        return OutputCheck(output, Verdict.MISSING, note=f"{uri}: not reachable ({exc})")
    if digest == output.expected_digest:
        return OutputCheck(output, Verdict.IDENTICAL, digest)
    if digest == output.actual_digest and output.verdict is not Verdict.IDENTICAL:
        # The bytes the rebuild judged (within tolerance, or divergent): still them.
        return OutputCheck(output, output.verdict, digest)
    return OutputCheck(output, Verdict.DIVERGENT, digest, note=f"{uri}: the bytes changed")


def verify_rebuild(store: MetadataStore, rebuild_id: str) -> RebuildCheck:
    """The rebuild checked again, output by output (see the module's docstring)."""
    rebuild = get_rebuild(store, rebuild_id)
    checks = tuple(_check_output(store, o) for o in rebuild.result.outputs)
    verdict = worst([c.now for c in checks])
    if rebuild.result.verdict is Verdict.FAILED:
        verdict = Verdict.FAILED  # a failed rebuild stays failed: it proved nothing
    return RebuildCheck(rebuild, checks, verdict)
