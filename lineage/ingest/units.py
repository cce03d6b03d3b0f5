"""The one writer: units of work written into the store, one transaction each, and counted.

A unit is one run (or one pipeline version, one orphan node, one pod's image...): it is
built from its source and written with one ``put_run``. A unit that fails, in the source
or in the store, is blamed in the report by its label and the others go on (as its
``Failures`` says); nothing of it is written, because its record is built whole before
the single write. Every source yields units and writes them through ``write_units``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from lineage.errors import ConfigError, LineageError, UnavailableError
from lineage.ingest.report import IngestReport
from lineage.model import RunRecord
from lineage.store.port import MetadataStore, WriteResult

# Called after each unit: (label of the unit, units done, units known so far).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Unit:
    key: str  # how the source finds it again (a retry list holds these)
    label: str  # how messages name it: a run id, a context id
    # The record to write; None when there is nothing to write (the source has told the
    # report why, or the unit holds nothing yet).
    build: Callable[[], RunRecord | None]


class Source(Protocol):
    """An ingest source (``KfpMlmdIngest``, ``KfpApiIngest``): it reads one place KFP
    leaves lineage, writes what it read as units through ``write_units``, and says
    whether the place held anything (one that holds records and yields none failed)."""

    @property
    def has_records(self) -> bool: ...

    def run(self, progress: Progress | None = None) -> IngestReport: ...


@dataclass(frozen=True)
class Failures:
    """What a failing unit does to the others."""

    fatal: tuple[type[LineageError], ...]  # raised: every next unit would fail the same
    trim_label: bool  # a message that starts with the unit's label says it once


# The source is down or refuses us: stop; any other failure is the unit's alone.
SOURCE_DOWN_STOPS = Failures((UnavailableError, ConfigError), trim_label=True)
# Every failure is the unit's alone (a registry that fails one image may serve the next).
EACH_UNIT_ALONE = Failures((), trim_label=False)
# The units are one piece of work: any failure is the caller's.
ANY_FAILURE_STOPS = Failures((LineageError,), trim_label=False)


def write_units(
    store: MetadataStore,
    units: Iterable[Unit],
    report: IngestReport,
    *,
    total: Callable[[], int] | None = None,
    progress: Progress | None = None,
    on_written: Callable[[Unit, WriteResult], None] | None = None,
    failures: Failures = SOURCE_DOWN_STOPS,
) -> list[Unit]:
    """Build and write each unit; return the units that failed."""
    # A store that can batches the runs' parent links over the loop.
    with store.deferred_parent_links():
        return _write(store, units, report, total, progress, on_written, failures)


def _write(
    store: MetadataStore,
    units: Iterable[Unit],
    report: IngestReport,
    total: Callable[[], int] | None,
    progress: Progress | None,
    on_written: Callable[[Unit, WriteResult], None] | None,
    failures: Failures,
) -> list[Unit]:
    failed: list[Unit] = []
    for done, unit in enumerate(units, start=1):
        try:
            record = unit.build()
            result = None if record is None else store.put_run(record)
        except failures.fatal:
            raise
        except LineageError as exc:
            report.fail(unit.label, _message(unit, exc, failures))
            failed.append(unit)
        else:
            if result is not None:
                report.wrote(result)
                if on_written is not None:
                    on_written(unit, result)
        if progress is not None:
            progress(unit.label, done, max(done, total() if total else done))
    return failed


def _message(unit: Unit, exc: LineageError, failures: Failures) -> str:
    message = str(exc)
    # Errors already name the unit; do not say it twice.
    prefix = f"{unit.label}: "
    if failures.trim_label and message.startswith(prefix):
        return message[len(prefix) :]
    return message


def write_together(store: MetadataStore, units: Iterable[Unit]) -> WriteResult:
    """Write units that are one piece of work (a local run and its pipeline version):
    the first failure is raised, and the result is the sum of what they changed."""
    results: list[WriteResult] = []
    write_units(
        store,
        units,
        IngestReport("together"),  # the caller counts the piece of work as one
        on_written=lambda _unit, result: results.append(result),
        failures=ANY_FAILURE_STOPS,
    )
    return WriteResult(
        sum(r.created for r in results),
        sum(r.updated for r in results),
        sum(r.unchanged for r in results),
        sum(r.events_created for r in results),
    )
