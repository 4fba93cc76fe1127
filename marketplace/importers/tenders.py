"""Importing tender notices: DESIGN.md JSON Lines, or OCDS 1.1 releases.

Tenders are keyed by (``source``, ``source_id``): the notice's id in the system that
published it. The buyer is an organisation found by exact name among buyers, or created
(owned by the import system account). A notice whose deadline is still ahead is ``open``;
one without a deadline, or past it, is ``closed``. Re-importing never re-opens a closed
tender (its bids may have been opened) and never touches awarded ones; a change to the
terms of an open tender stamps ``terms_changed_at`` so bids made before need re-approval.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace import clock
from marketplace.extensions import db
from marketplace.importers import fields, ocds
from marketplace.importers.batches import DEFAULT_BATCH_SIZE, Outcome, run_pipeline
from marketplace.importers.organisations import sync_collection
from marketplace.importers.ownership import (
    SlugAllocator,
    new_owned_organisation,
    system_account,
)
from marketplace.importers.report import ImportReport, Problem
from marketplace.importers.sources import (
    FileUnreadable,
    count_lines,
    detect_format,
    read_json_document,
    read_jsonl,
)
from marketplace.models import Organisation, Tender, TenderCpvCode, TenderStatus
from marketplace.search_outbox import record_change

DEFAULT_SOURCE = "import"
OCDS_SOURCE = "ocds"
UNNAMED_BUYER = "Unnamed public buyer"
BUYER_SUMMARY = "Public buyer. Its notices on Guild are imported from published sources."

# OCDS tender.status values that decide the state whatever the deadline says.
OCDS_STATUS = {
    "cancelled": TenderStatus.CANCELLED,
    "withdrawn": TenderStatus.CANCELLED,
    "unsuccessful": TenderStatus.UNSUCCESSFUL,
    "complete": TenderStatus.CLOSED,
}
# Fields whose change on an open tender invalidates bids made before.
TERMS = ("title", "description", "deadline", "budget_min", "budget_max", "currency")

# Alternative names used by ../shared/data/demo/tenders_uk.jsonl and similar exports.
ALIASES = {
    "buyer": ("buyer", "buyer_name"),
    "budget_max": ("budget_max", "value_amount"),
    "currency": ("currency", "value_currency"),
    "region": ("region", "delivery_region"),
    "postcode": ("postcode", "delivery_postcode"),
}


@dataclass(frozen=True)
class TenderRecord:
    source: str
    source_id: str
    title: str
    description: str
    cpv_codes: tuple[str, ...]
    deadline: datetime | None
    budget_min: Decimal | None
    budget_max: Decimal | None
    currency: str
    town: str | None
    region: str | None
    postcode: str | None
    lat: float | None
    lon: float | None
    buyer: str
    status: TenderStatus | None
    notice_url: str | None
    publisher: str | None
    licence: str | None
    published: datetime | None


def _first(data: dict, name: str) -> object:
    for key in ALIASES.get(name, (name,)):
        value = data.get(key)
        if value not in (None, ""):
            return value
    return None


def check_record(data: dict, *, source: str,
                 labels: dict[str, str] | None = None,
                 errors: list[tuple[str, str]] | None = None):
    """Check a record in the DESIGN.md tender format; ``labels`` name fields in the report."""
    c = fields.FieldChecker(labels)
    c.errors.extend(errors or [])
    buyer = _first(data, "buyer")
    if isinstance(buyer, dict):
        buyer = buyer.get("name")
    c.check("id", data.get("id"), fields.identifier)
    c.check("source", source, fields.identifier, max_len=80)
    c.check("title", data.get("title"), fields.text, max_len=300, required=True)
    c.check("description", data.get("description"), fields.text,
            max_len=fields.MAX_DESCRIPTION, multiline=True)
    c.check("cpv_codes", data.get("cpv_codes"), fields.cpv_codes)
    c.check("deadline", data.get("deadline"), fields.timestamp)
    c.check("budget_min", data.get("budget_min"), fields.money)
    c.check("budget_max", _first(data, "budget_max"), fields.money)
    c.check("currency", _first(data, "currency"), fields.currency)
    c.check("town", data.get("town"), fields.text, max_len=120)
    c.check("region", _first(data, "region"), fields.text, max_len=120)
    c.check("postcode", _first(data, "postcode"), fields.text, max_len=12)
    c.check("lat", data.get("lat"), fields.latitude)
    c.check("lon", data.get("lon"), fields.longitude)
    c.check("buyer", buyer, fields.text, max_len=120)
    c.check("notice_url", data.get("notice_url"), fields.web_url, max_len=500)
    c.check("publisher", data.get("publisher"), fields.text, max_len=200)
    c.check("licence", data.get("licence"), fields.text, max_len=120)
    c.check("date", data.get("date"), fields.timestamp, require_time=False)
    v = c.values
    if v.get("budget_min") is not None and v.get("budget_max") is not None and (
            v["budget_min"] > v["budget_max"]):  # type: ignore[operator]
        c.error("budget_min", "larger than the maximum budget")
    if "lat" in v and "lon" in v and (v["lat"] is None) != (v["lon"] is None):
        c.error("lat" if v["lat"] is None else "lon", "lat and lon must be given together")
    status = data.get("status")
    record_id = v.get("id")
    if c.errors:
        return None, record_id, c.errors
    return TenderRecord(
        source=v["source"], source_id=v["id"], title=v["title"],
        description=v["description"] or "", cpv_codes=v["cpv_codes"], deadline=v["deadline"],
        budget_min=v["budget_min"], budget_max=v["budget_max"], currency=v["currency"] or "GBP",
        town=v["town"], region=v["region"], postcode=v["postcode"], lat=v["lat"], lon=v["lon"],
        buyer=v["buyer"] or UNNAMED_BUYER,
        status=OCDS_STATUS.get(status) if isinstance(status, str) else None,
        notice_url=v["notice_url"], publisher=v["publisher"], licence=v["licence"],
        published=v["date"],
    ), record_id, []  # type: ignore[arg-type]


def design_validator(source: str | None) -> Callable:
    def validate(data: dict):
        record_source = source or data.get("source") or DEFAULT_SOURCE
        # The design format has no status: only OCDS releases may say "cancelled".
        return check_record({k: v for k, v in data.items() if k != "status"},
                            source=record_source)  # type: ignore[arg-type]
    return validate


def release_validator(source: str | None, meta: dict | None = None) -> Callable:
    def validate(data: dict):
        record = ocds.tender_fields(data, meta)
        errors = record.pop("_errors", [])
        return check_record(record, source=source or OCDS_SOURCE, labels=ocds.OCDS_LABELS,
                            errors=errors)
    return validate


def target_status(current: TenderStatus | None, record: TenderRecord,
                  now: datetime) -> TenderStatus:
    if record.status is not None:
        wanted = record.status
    else:
        wanted = (TenderStatus.OPEN if record.deadline is not None and record.deadline > now
                  else TenderStatus.CLOSED)
    if current is None or current in (TenderStatus.DRAFT, TenderStatus.OPEN):
        return wanted
    if current is TenderStatus.CLOSED and wanted in (TenderStatus.CANCELLED,
                                                     TenderStatus.UNSUCCESSFUL):
        return wanted
    return current


class TenderWriter:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self, records: list[TenderRecord]) -> list[tuple[Outcome, str | None]]:
        owner = system_account()
        existing = self._existing(records)
        buyers = self._buyers({r.buyer for r in records}, owner)
        outcomes: list[tuple[Outcome, str | None]] = []
        changed: list[Tender] = []
        for record in records:
            tender = existing.get((record.source, record.source_id))
            note = None
            if tender is None:
                tender = Tender(source=record.source, source_id=record.source_id,
                                published_at=record.published or self.now)
                self._apply(tender, record, buyers[record.buyer])
                db.session.add(tender)
                outcome = Outcome.CREATED
            else:
                if (tender.status is TenderStatus.CLOSED and record.deadline
                        and record.deadline > self.now and record.status is None):
                    note = "deadline moved into the future, but a closed tender stays closed"
                outcome = (Outcome.UPDATED if self._apply(tender, record, buyers[record.buyer])
                           else Outcome.UNCHANGED)
            if outcome is not Outcome.UNCHANGED:
                changed.append(tender)
            outcomes.append((outcome, note))
        db.session.flush()
        for tender in changed:
            record_change("tender", tender.id)
        return outcomes

    def _existing(self, records: list[TenderRecord]) -> dict[tuple[str, str], Tender]:
        by_source: dict[str, list[str]] = {}
        for record in records:
            by_source.setdefault(record.source, []).append(record.source_id)
        found = {}
        for source, ids in by_source.items():
            query = (select(Tender).where(Tender.source == source, Tender.source_id.in_(ids))
                     .options(selectinload(Tender.cpv_codes)))
            for tender in db.session.scalars(query):
                found[(source, tender.source_id)] = tender
        return found  # type: ignore[return-value]

    def _buyers(self, names: set[str], owner) -> dict[str, Organisation]:
        found: dict[str, Organisation] = {}
        query = (select(Organisation)
                 .where(Organisation.is_buyer.is_(True), Organisation.name.in_(sorted(names)))
                 .order_by(Organisation.id))
        for org in db.session.scalars(query):
            found.setdefault(org.name, org)
        missing = sorted(names - found.keys())
        if missing:
            slugs = SlugAllocator(missing)
            for name in missing:
                found[name] = new_owned_organisation(
                    owner, name, slugs.allocate(name, "buyer:" + name), is_buyer=True,
                    summary=BUYER_SUMMARY)
            db.session.flush()
        return found

    def _apply(self, tender: Tender, record: TenderRecord, buyer: Organisation) -> bool:
        """Make the tender match the record; True when anything changed."""
        was_open = tender.status is TenderStatus.OPEN and tender.id is not None
        if record.deadline is None and tender.deadline is not None:
            # A notice that states no deadline keeps the one Guild has (the demo seed sets
            # deadlines on the same notices).
            record = dataclasses.replace(record, deadline=tender.deadline)
        wanted = {
            "title": record.title, "description": record.description,
            "deadline": record.deadline, "budget_min": record.budget_min,
            "budget_max": record.budget_max, "currency": record.currency,
            "town": record.town, "region": record.region, "postcode": record.postcode,
            "lat": record.lat, "lon": record.lon, "buyer_id": buyer.id,
            "original_buyer_name": record.buyer,
        }
        # Provenance is only ever added to, never erased by a record that omits it.
        provenance = {"source_url": record.notice_url, "source_publisher": record.publisher,
                      "source_licence": record.licence, "published_at": record.published}
        wanted.update({name: value for name, value in provenance.items() if value is not None})
        changed_fields = [name for name, value in wanted.items()
                          if getattr(tender, name) != value]
        for name in changed_fields:
            setattr(tender, name, wanted[name])
        codes_changed = sync_collection(tender.cpv_codes, record.cpv_codes, "code",
                                        TenderCpvCode)
        status = target_status(tender.status if tender.id is not None else None,
                               record, self.now)
        status_changed = tender.status is not status
        if status_changed:
            tender.status = status
            if status is TenderStatus.CLOSED and tender.closed_at is None:
                tender.closed_at = min(record.deadline or self.now, self.now)
            if status is TenderStatus.CANCELLED and tender.cancelled_at is None:
                tender.cancelled_at = self.now
        if was_open and (codes_changed or any(n in TERMS for n in changed_fields)):
            tender.terms_changed_at = self.now
        return bool(changed_fields or codes_changed or status_changed)


def import_tenders(stream: BinaryIO, *, filename: str = "", file_format: str = "auto",
                   source: str | None = None, dry_run: bool = False,
                   batch_size: int = DEFAULT_BATCH_SIZE,
                   on_start: Callable[[int], None] | None = None,
                   progress: Callable[[int], None] | None = None,
                   now: datetime | None = None) -> ImportReport:
    """Import tender notices; see ``import_organisations`` for the callbacks."""
    report = ImportReport(kind="tender", dry_run=dry_run)
    try:
        fmt = detect_format(stream, filename) if file_format == "auto" else file_format
        if fmt == "json":
            meta, releases = ocds.package_releases(read_json_document(stream))
            records = ocds.merge_by_ocid(releases)
            validate = release_validator(source, meta)
            report.file_format = "OCDS release package"
            total = len(records)
        elif fmt == "jsonl" and _first_record_is_release(stream):
            records = ocds.merge_by_ocid(read_jsonl(stream))
            validate = release_validator(source)
            report.file_format = "OCDS releases, JSON Lines"
            total = len(records)
        elif fmt == "jsonl":
            total, records = count_lines(stream), read_jsonl(stream)
            validate = design_validator(source)
            report.file_format = "JSON Lines"
        else:
            raise FileUnreadable("tenders come as JSON Lines or an OCDS release package")
    except FileUnreadable as exc:
        report.fail(Problem(0, "file", str(exc)))
        return report
    if on_start:
        on_start(total)
    writer = TenderWriter(now or clock.now())
    return run_pipeline(records, validate=validate, apply_batch=writer, report=report,
                        batch_size=batch_size, progress=progress)


def _first_record_is_release(stream: BinaryIO) -> bool:
    start = stream.tell()
    try:
        first = next((r for r in read_jsonl(stream) if r.data is not None), None)
    finally:
        stream.seek(start)
    return first is not None and first.data is not None and ocds.is_release(first.data)
