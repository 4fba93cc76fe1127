"""Importing a business directory: DESIGN.md JSON Lines or a chamber of commerce's CSV.

Each record becomes an organisation with a published profile, keyed by
(``external_source``, ``external_id``), so importing the same file again updates entries
instead of duplicating them, and a record that did not change is not touched at all (no
version bump, no search outbox row). The file is the truth for unclaimed entries: a field
missing from a record is cleared. Entries a business has claimed are never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace import clock
from marketplace.extensions import db
from marketplace.importers import fields
from marketplace.importers.batches import DEFAULT_BATCH_SIZE, Outcome, run_pipeline
from marketplace.importers.ownership import (
    SlugAllocator,
    claimed_organisation_ids,
    new_owned_organisation,
    system_account,
)
from marketplace.importers.report import ImportReport, Problem
from marketplace.importers.sources import (
    FileUnreadable,
    count_lines,
    detect_format,
    read_csv,
    read_jsonl,
)
from marketplace.models import Organisation, Profile, ProfileCapability, ProfileCpvCode, SizeBand
from marketplace.search_outbox import record_change

DEFAULT_SOURCE = "import"

# CSV header (normalised: lower case, punctuation as spaces) -> record field.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "member id", "member number", "membership number", "member no",
           "company number", "registration number", "reference", "ref"),
    "name": ("name", "company name", "company", "business name", "business",
             "organisation", "organisation name", "organization", "organization name",
             "member name", "trading name"),
    "description": ("description", "about", "profile", "business description",
                    "company description"),
    "capabilities": ("capabilities", "services", "products and services", "keywords", "tags"),
    "cpv_codes": ("cpv codes", "cpv code", "cpv"),
    "size": ("size", "company size", "size band"),
    "town": ("town", "city", "town city", "locality"),
    "postcode": ("postcode", "post code", "postal code", "zip", "zip code"),
    "region": ("region", "county", "province", "state"),
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "long", "longitude"),
    "service_radius_km": ("service radius km", "service radius", "radius km", "radius"),
    "website": ("website", "web site", "web", "url", "homepage", "www"),
}
CSV_ALIASES = {alias: name for name, aliases in CSV_COLUMNS.items() for alias in aliases}

PROFILE_FIELDS = ("description", "size", "town", "postcode", "region", "lat", "lon",
                  "service_radius_km", "website")


@dataclass(frozen=True)
class OrganisationRecord:
    external_id: str
    name: str
    description: str
    capabilities: tuple[str, ...]
    cpv_codes: tuple[str, ...]
    size: str | None
    town: str | None
    postcode: str | None
    region: str | None
    lat: float | None
    lon: float | None
    service_radius_km: int | None
    website: str | None


def validate(data: dict) -> tuple[OrganisationRecord | None, str | None,
                                  list[tuple[str, str]]]:
    """Check one record in the DESIGN.md organisation format."""
    c = fields.FieldChecker()
    c.check("id", data.get("id"), fields.identifier)
    c.check("name", data.get("name"), fields.text, max_len=120, required=True)
    c.check("description", data.get("description"), fields.text,
            max_len=fields.MAX_DESCRIPTION, multiline=True)
    c.check("capabilities", data.get("capabilities"), fields.tags)
    c.check("cpv_codes", data.get("cpv_codes"), fields.cpv_codes)
    c.check("size", data.get("size"), fields.size)
    c.check("town", data.get("town"), fields.text, max_len=120)
    c.check("postcode", data.get("postcode"), fields.text, max_len=12)
    c.check("region", data.get("region"), fields.text, max_len=120)
    c.check("lat", data.get("lat"), fields.latitude)
    c.check("lon", data.get("lon"), fields.longitude)
    c.check("service_radius_km", data.get("service_radius_km"), fields.radius_km)
    c.check("website", data.get("website"), fields.web_url)
    v = c.values
    if "lat" in v and "lon" in v and (v["lat"] is None) != (v["lon"] is None):
        c.error("lat" if v["lat"] is None else "lon", "lat and lon must be given together")
    record_id = v.get("id")
    if c.errors:
        return None, record_id, c.errors  # type: ignore[return-value]
    return OrganisationRecord(
        external_id=v["id"], name=v["name"], description=v["description"] or "",
        capabilities=v["capabilities"], cpv_codes=v["cpv_codes"], size=v["size"],
        town=v["town"], postcode=v["postcode"], region=v["region"], lat=v["lat"],
        lon=v["lon"], service_radius_km=v["service_radius_km"], website=v["website"],
    ), record_id, []  # type: ignore[arg-type]


class OrganisationWriter:
    """Applies one batch of checked records in the current transaction."""

    def __init__(self, source: str, now: datetime):
        self.source = source
        self.now = now

    def __call__(self, records: list[OrganisationRecord]) -> list[tuple[Outcome, str | None]]:
        owner = system_account()
        existing = self._existing([r.external_id for r in records])
        claimed = claimed_organisation_ids([o.id for o in existing.values()], owner)
        slugs = SlugAllocator([r.name for r in records if r.external_id not in existing])
        outcomes: list[tuple[Outcome, str | None]] = []
        changed: list[Organisation] = []
        for record in records:
            org = existing.get(record.external_id)
            if org is None:
                org = new_owned_organisation(
                    owner, record.name, slugs.allocate(record.name, record.external_id))
                org.external_source = self.source
                org.external_id = record.external_id
                org.profile = Profile(published_at=self.now)
                _apply(org, record, self.now)
                outcomes.append((Outcome.CREATED, None))
                changed.append(org)
            elif org.id in claimed:
                outcomes.append((Outcome.SKIPPED, "claimed by its business: not updated"))
            elif _apply(org, record, self.now):
                outcomes.append((Outcome.UPDATED, None))
                changed.append(org)
            else:
                outcomes.append((Outcome.UNCHANGED, None))
        db.session.flush()
        for org in changed:
            record_change("organisation", org.id)
        return outcomes

    def _existing(self, external_ids: list[str]) -> dict[str, Organisation]:
        profile = selectinload(Organisation.profile)
        query = (select(Organisation)
                 .where(Organisation.external_source == self.source,
                        Organisation.external_id.in_(external_ids))
                 .options(profile.selectinload(Profile.capabilities),
                          profile.selectinload(Profile.cpv_codes)))
        return {org.external_id: org for org in db.session.scalars(query)}  # type: ignore[misc]


def _apply(org: Organisation, record: OrganisationRecord, now: datetime) -> bool:
    """Make the organisation match the record; True when anything changed.

    Only differing attributes are assigned and collections are changed by difference, so
    an identical record leaves the rows (and the profile's version) untouched.
    """
    changed = False
    if org.name != record.name:
        org.name = record.name
        changed = True
    profile = org.profile
    if profile is None:
        profile = org.profile = Profile(published_at=now)
        changed = True
    for name in PROFILE_FIELDS:
        value = getattr(record, name)
        if name == "size":
            value = SizeBand(value) if value else None
        if getattr(profile, name) != value:
            setattr(profile, name, value)
            changed = True
    changed |= sync_collection(profile.capabilities, record.capabilities, "tag", ProfileCapability)
    changed |= sync_collection(profile.cpv_codes, record.cpv_codes, "code", ProfileCpvCode)
    return changed


def sync_collection(collection: list, wanted: tuple[str, ...], attr: str, model) -> bool:
    """Remove and add by difference (never delete-and-reinsert the same unique value)."""
    have = {getattr(item, attr) for item in collection}
    target = set(wanted)
    if have == target:
        return False
    for item in [i for i in collection if getattr(i, attr) not in target]:
        collection.remove(item)
    for value in wanted:
        if value not in have:
            collection.append(model(**{attr: value}))
    return True


def import_organisations(stream: BinaryIO, *, filename: str = "", file_format: str = "auto",
                         source: str = DEFAULT_SOURCE, dry_run: bool = False,
                         batch_size: int = DEFAULT_BATCH_SIZE,
                         on_start: Callable[[int], None] | None = None,
                         progress: Callable[[int], None] | None = None,
                         now: datetime | None = None) -> ImportReport:
    """Import a directory file. ``on_start(total)`` is called once the number of records is
    known, ``progress(n)`` as records are done. Commits per batch (rolls back on a dry run)."""
    report = ImportReport(kind="organisation", dry_run=dry_run)
    try:
        source = fields.identifier(source, max_len=80)
        fmt = detect_format(stream, filename) if file_format == "auto" else file_format
        report.file_format = fmt
        if fmt == "csv":
            table = read_csv(stream, CSV_ALIASES, required=("id", "name"))
            if table.encoding != "utf-8":
                report.notices.append(Problem(0, "file", f"read as {table.encoding}, not UTF-8"))
            for column in table.ignored:
                report.notices.append(Problem(1, column, "column not in the mapping: ignored"))
            total, records = len(table.rows), table.records()
        elif fmt == "jsonl":
            total, records = count_lines(stream), read_jsonl(stream)
        else:
            raise FileUnreadable("organisations come as JSON Lines (one object per line) or CSV")
    except (FileUnreadable, fields.Invalid) as exc:
        report.fail(Problem(0, "file", str(exc)))
        return report
    if on_start:
        on_start(total)
    writer = OrganisationWriter(source, now or clock.now())
    return run_pipeline(records, validate=validate, apply_batch=writer, report=report,
                        batch_size=batch_size, progress=progress)
