"""The import pipeline: check each record, then write the good ones in batches.

Bulk import is the one place where the code below a view or command owns transactions:
each batch is its own unit of work (one commit), so a large file makes steady progress and a
database error costs one batch, not the whole import. When a batch fails it is rolled back
and its records are retried one per transaction, so only the record at fault is reported.
A dry run does all the same work, and rolls every batch back.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from marketplace.extensions import db
from marketplace.importers.report import ImportReport, Problem
from marketplace.importers.sources import RawRecord

logger = logging.getLogger("marketplace.importers")

DEFAULT_BATCH_SIZE = 500


class Outcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass
class Checked:
    """A record that passed validation, with where it came from."""

    record: Any
    record_id: str
    line: int | None
    position: str | None


# (normalised record, its id, [(field, reason), ...]) from one raw object.
Validate = Callable[[dict], tuple[Any, str | None, list[tuple[str, str]]]]
# One outcome (and an optional note for the report) per record, in order.
ApplyBatch = Callable[[list[Any]], list[tuple[Outcome, str | None]]]


def run_pipeline(raw_records: Iterable[RawRecord], *, validate: Validate,
                 apply_batch: ApplyBatch, report: ImportReport,
                 batch_size: int = DEFAULT_BATCH_SIZE,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    writer = _BatchWriter(apply_batch, report, progress or (lambda n: None))
    first_seen: dict[str, str] = {}
    batch: list[Checked] = []
    for raw in raw_records:
        report.records += 1
        if raw.error is not None:
            _reject(report, raw, None, [raw.error])
            writer.progress(1)
            continue
        record, record_id, errors = validate(raw.data or {})
        if errors:
            _reject(report, raw, record_id, errors)
            writer.progress(1)
            continue
        assert record_id is not None
        here = f"line {raw.line}" if raw.line is not None else (raw.position or "?")
        if record_id in first_seen:
            _reject(report, raw, record_id,
                    [("id", f"duplicate id: already on {first_seen[record_id]} of this file")])
            writer.progress(1)
            continue
        first_seen[record_id] = here
        batch.append(Checked(record, record_id, raw.line, raw.position))
        if len(batch) >= batch_size:
            writer.write(batch)
            batch = []
    if batch:
        writer.write(batch)
    return report


def _reject(report: ImportReport, raw: RawRecord, record_id: str | None,
            errors: list[tuple[str, str]]) -> None:
    report.failed += 1
    for field_name, reason in errors:
        report.fail(Problem(raw.line, field_name, reason, record_id, raw.position))


class _BatchWriter:
    def __init__(self, apply_batch: ApplyBatch, report: ImportReport,
                 progress: Callable[[int], None]):
        self.apply_batch = apply_batch
        self.report = report
        self.progress = progress

    def write(self, batch: list[Checked]) -> None:
        try:
            outcomes = self.apply_batch([c.record for c in batch])
            db.session.flush()
            if self.report.dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except SQLAlchemyError as exc:
            db.session.rollback()
            if len(batch) > 1:
                logger.warning("import batch of %d %s records failed (%s); retrying one by one",
                               len(batch), self.report.kind, type(exc).__name__)
                for checked in batch:
                    self.write([checked])
                return
            self._fail(batch[0], exc)
            self.progress(1)
            return
        for checked, (outcome, note) in zip(batch, outcomes, strict=True):
            self._count(checked, outcome, note)
        self.progress(len(batch))

    def _count(self, checked: Checked, outcome: Outcome, note: str | None) -> None:
        report = self.report
        if outcome is Outcome.CREATED:
            report.created += 1
        elif outcome is Outcome.UPDATED:
            report.updated += 1
        elif outcome is Outcome.UNCHANGED:
            report.unchanged += 1
        else:
            report.skipped += 1
        if note:
            report.notices.append(Problem(checked.line, "record", note, checked.record_id,
                                          checked.position))

    def _fail(self, checked: Checked, exc: SQLAlchemyError) -> None:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = f"not saved: database refused it ({type(exc).__name__}"
        reason += f": {detail[0][:200]})" if detail else ")"
        self.report.failed += 1
        self.report.fail(Problem(checked.line, "record", reason, checked.record_id,
                                 checked.position))
