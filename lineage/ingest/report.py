"""The structured report every ingest prints: what was read, written, skipped and failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineage.errors import BadInputError
from lineage.store.port import WriteResult


@dataclass
class IngestReport:
    """Counts per unit of work (one run, one spec, one pod...), and who failed.

    A source that holds records but yielded none, or whose every unit failed,
    is a failed ingest, never a green one.
    """

    source: str
    read: int = 0
    written: int = 0  # units that changed the store
    unchanged: int = 0  # units already stored as they are
    skipped: int = 0  # units left for later, with a reason
    failed: int = 0
    nodes_created: int = 0
    nodes_updated: int = 0
    events_created: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (unit, message)
    skips: list[tuple[str, str]] = field(default_factory=list)

    def wrote(self, result: WriteResult) -> None:
        self.read += 1
        if result.changed:
            self.written += 1
        else:
            self.unchanged += 1
        self.nodes_created += result.created
        self.nodes_updated += result.updated
        self.events_created += result.events_created

    def fail(self, unit: str, message: str) -> None:
        self.read += 1
        self.failed += 1
        self.failures.append((unit, message))

    def skip(self, unit: str, reason: str) -> None:
        self.read += 1
        self.skipped += 1
        self.skips.append((unit, reason))

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def check(self, source_has_records: bool) -> None:
        """Raise when the ingest must not look green."""
        if self.failed:
            unit, message = self.failures[0]
            more = f" (and {self.failed - 1} more)" if self.failed > 1 else ""
            raise BadInputError(f"{self.source}: {unit}: {message}{more}")
        if source_has_records and self.read == 0:
            raise BadInputError(f"{self.source}: the source holds records but none were read")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": self.read,
            "written": self.written,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "nodes_created": self.nodes_created,
            "nodes_updated": self.nodes_updated,
            "events_created": self.events_created,
            "failures": [{"unit": u, "error": m} for u, m in self.failures],
            "skips": [{"unit": u, "reason": r} for u, r in self.skips],
        }

    def summary(self) -> str:
        return (
            f"{self.source}: read {self.read}, written {self.written}, unchanged {self.unchanged}, "
            f"skipped {self.skipped}, failed {self.failed} "
            f"(nodes +{self.nodes_created} ~{self.nodes_updated}, events +{self.events_created})"
        )
