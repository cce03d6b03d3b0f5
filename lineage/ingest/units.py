"""Writing units of work into the store, one transaction each, and counting them.

A unit is one run (or one pipeline version, one orphan node...): it is built from the
source and written with one ``put_run``. A unit that fails, in the source or in the
store, is blamed in the report by its label and the others go on; nothing of it is
written, because its record is built whole before the single write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lineage.errors import ConfigError, LineageError, UnavailableError
from lineage.ingest.report import IngestReport
from lineage.model import RunRecord
from lineage.store.port import MetadataStore

# Called after each unit: (label of the unit, units done, units known so far).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Unit:
    key: str  # how the source finds it again (a retry list holds these)
    label: str  # how messages name it: a run id, a context id
    build: Callable[[], RunRecord]


def write_units(
    store: MetadataStore,
    units: Iterable[Unit],
    report: IngestReport,
    *,
    total: Callable[[], int] | None = None,
    progress: Progress | None = None,
    on_written: Callable[[Unit], None] | None = None,
) -> list[Unit]:
    """Build and write each unit; return the units that failed."""
    # A store that can batches the runs' parent links over the loop.
    with store.deferred_parent_links():
        return _write(store, units, report, total, progress, on_written)


def _write(
    store: MetadataStore,
    units: Iterable[Unit],
    report: IngestReport,
    total: Callable[[], int] | None,
    progress: Progress | None,
    on_written: Callable[[Unit], None] | None,
) -> list[Unit]:
    failed: list[Unit] = []
    for done, unit in enumerate(units, start=1):
        try:
            record = unit.build()
            result = store.put_run(record)
        except (UnavailableError, ConfigError):
            raise  # the source is down or refuses us: every next unit would fail the same
        except LineageError as exc:
            message = str(exc)
            # Errors already name the unit; do not say it twice.
            prefix = f"{unit.label}: "
            report.fail(
                unit.label, message[len(prefix) :] if message.startswith(prefix) else message
            )
            failed.append(unit)
        else:
            report.wrote(result)
            if on_written is not None:
                on_written(unit)
        if progress is not None:
            progress(unit.label, done, max(done, total() if total else done))
    return failed
