"""Tender use cases: create, edit, publish, cancel, documents, and the outcome states.

Services change the session and flush; views commit. Every state change writes an audit
event carrying the tender's version after the change, and a search-outbox row.
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm.exc import StaleDataError

from marketplace import audit, cpv
from marketplace.data.gazetteer import find_town
from marketplace.documents import StoredDocument
from marketplace.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Organisation,
    RequirementKind,
    Tender,
    TenderCpvCode,
    TenderDocument,
    TenderRequirement,
    TenderStatus,
    User,
)
from marketplace.permissions import can_create_tender, can_manage_tender
from marketplace.search_outbox import record_change
from marketplace.tenders.lifecycle import close_if_due, deadline_passed, lock_tender

log = logging.getLogger("marketplace.tenders")

# Changing an open tender's terms leaves bidders at least this long to re-approve.
MIN_TIME_AFTER_CHANGE = timedelta(days=2)
MAX_REQUIREMENTS = 30
MAX_CPV_CODES = 20
MAX_DOCUMENTS = 20
BUDGET_LIMIT = Decimal("999999999999.99")  # Numeric(14, 2)
# ISO 4217 codes a buyer may choose: the ones a local marketplace meets in practice.
CURRENCIES = ("GBP", "EUR", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON",
              "BGN", "CAD", "AUD", "NZD", "JPY")


@dataclass
class TenderTerms:
    """What the buyer fills in: everything a bidder prices against."""

    title: str
    description: str = ""
    requirements: list[tuple[RequirementKind, str]] = field(default_factory=list)
    cpv_codes: list[str] = field(default_factory=list)
    town: str | None = None
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    currency: str = "GBP"
    deadline: datetime | None = None  # UTC, aware
    deadline_zone: str = "Europe/London"

    def problems(self) -> dict[str, str]:
        """Rules the form cannot check field by field; keyed by form field name."""
        errors = {}
        if self.currency not in CURRENCIES:
            errors["currency"] = "Choose a currency from the list."
        for name in ("budget_min", "budget_max"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value < 0
                                      or value > BUDGET_LIMIT):
                errors[name] = "Enter an amount of 0 or more, up to 999,999,999,999.99."
        if (self.budget_min is not None and self.budget_max is not None
                and "budget_min" not in errors and self.budget_min > self.budget_max):
            errors["budget_max"] = "The maximum must not be below the minimum."
        bad = [c for c in self.cpv_codes if not cpv.is_valid_code(c)]
        if bad:
            errors["cpv_codes"] = "Unknown CPV code: " + ", ".join(bad[:5])
        elif len(self.cpv_codes) > MAX_CPV_CODES:
            errors["cpv_codes"] = f"At most {MAX_CPV_CODES} CPV codes."
        if len(self.requirements) > MAX_REQUIREMENTS:
            errors["requirements"] = f"At most {MAX_REQUIREMENTS} requirements."
        for kind, value in self.requirements:
            if kind == RequirementKind.CPV and not cpv.is_valid_code(value):
                errors["requirements"] = f"Unknown CPV code in the requirements: {value}"
        if self.town and find_town(self.town) is None:
            errors["town"] = "Choose a town from the list."
        if self.deadline is not None and self.deadline.tzinfo is None:
            errors["deadline"] = "The deadline needs a time zone."
        return errors


def _snapshot(tender: Tender) -> dict:
    """The terms as comparable values, to tell whether an edit changed anything."""
    return {
        "title": tender.title, "description": tender.description,
        "requirements": [(r.kind.value, r.value) for r in tender.requirements],
        "cpv_codes": sorted(c.code for c in tender.cpv_codes),
        "town": tender.town,
        "budget_min": tender.budget_min, "budget_max": tender.budget_max,
        "currency": tender.currency, "deadline": tender.deadline,
    }


def _apply(tender: Tender, terms: TenderTerms) -> None:
    tender.title = terms.title
    tender.description = terms.description
    tender.currency = terms.currency
    tender.budget_min = terms.budget_min
    tender.budget_max = terms.budget_max
    tender.deadline = terms.deadline
    tender.deadline_zone = terms.deadline_zone
    town = find_town(terms.town) if terms.town else None
    tender.town = town.name if town else None
    tender.region = town.region if town else None
    tender.postcode = town.postcode_district if town else None
    tender.lat = town.lat if town else None
    tender.lon = town.lon if town else None
    # Replace the children wholesale; same values keep the same rows (no churn).
    wanted = list(dict.fromkeys(terms.cpv_codes))
    if sorted(wanted) != sorted(c.code for c in tender.cpv_codes):
        # Keep rows for codes that stay: the unit of work inserts before it deletes, so a
        # fresh row for a kept code would hit the (tender_id, code) unique constraint.
        existing = {c.code: c for c in tender.cpv_codes}
        tender.cpv_codes = [existing.get(c) or TenderCpvCode(code=c) for c in wanted]
    wanted_reqs = list(dict.fromkeys(terms.requirements))
    if wanted_reqs != [(r.kind, r.value) for r in tender.requirements]:
        tender.requirements = [TenderRequirement(kind=k, value=v, position=i)
                               for i, (k, v) in enumerate(wanted_reqs)]


def _validate(terms: TenderTerms) -> None:
    problems = terms.problems()
    if problems:
        raise ValidationFailed(" ".join(problems.values()))


def _flush_versioned(tender: Tender) -> None:
    """Flush; a concurrent writer that bumped the version makes this a 409, not a 500."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise Conflict("Someone else changed this tender while you were editing it. "
                       "Your changes are below; check the current version and save again."
                       ) from exc


def _check_version(tender: Tender, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != tender.version:
        raise Conflict("Someone else changed this tender while you were editing it. "
                       "Your changes are below; check the current version and save again.")


def _require_manager(actor: User, tender: Tender) -> None:
    if not can_manage_tender(actor, tender):
        raise PermissionDenied("Only owners and admins of the buyer organisation can do this.")


def create_tender(actor: User, org: Organisation | None, terms: TenderTerms,
                  now: datetime) -> Tender:
    if not can_create_tender(actor, org):
        raise PermissionDenied("Only owners and admins of an organisation can post tenders "
                               "for it.")
    _validate(terms)
    tender = Tender(buyer=org, status=TenderStatus.DRAFT, title=terms.title,
                    created_at=now, updated_at=now)
    _apply(tender, terms)
    db.session.add(tender)
    db.session.flush()
    audit.record("tender", tender.id, "created", version=tender.version, actor=actor,
                 actor_org_id=org.id)
    return tender


def update_tender(actor: User, tender: Tender, terms: TenderTerms, expected_version: int,
                  now: datetime) -> Tender:
    """Edit a draft, or change the terms of an open tender (which invalidates bids and may
    extend the deadline). Closed and final tenders cannot be edited."""
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    if close_if_due(tender, now):
        raise InvalidState("The deadline has passed: the tender is closed and its terms can "
                           "no longer change.")
    if tender.status not in (TenderStatus.DRAFT, TenderStatus.OPEN):
        raise InvalidState(f"A {tender.status.value} tender cannot be edited.")
    _check_version(tender, expected_version)
    _validate(terms)
    if tender.status == TenderStatus.OPEN and (terms.deadline is None
                                               or terms.deadline <= now):
        raise ValidationFailed("An open tender's deadline must be in the future.")
    before = _snapshot(tender)
    _apply(tender, terms)
    after = _snapshot(tender)
    changed = sorted(k for k in before if before[k] != after[k])
    if not changed:
        return tender
    tender.updated_at = now
    if tender.status == TenderStatus.OPEN:
        _terms_changed(tender, now, changed, actor)
    else:
        _flush_versioned(tender)
        audit.record("tender", tender.id, "updated", version=tender.version, actor=actor,
                     actor_org_id=tender.buyer_id, fields=changed)
    return tender


def _terms_changed(tender: Tender, now: datetime, changed: list[str], actor: User) -> None:
    """The rule for open tenders: bids made on the old terms need re-approval, and
    bidders get at least two days from now."""
    extended_from = None
    if tender.deadline - now < MIN_TIME_AFTER_CHANGE:
        extended_from = tender.deadline
        tender.deadline = _ceil_minute(now + MIN_TIME_AFTER_CHANGE)
    tender.terms_changed_at = now
    tender.updated_at = now
    _flush_versioned(tender)
    invalidate_bids(tender, now)
    # No count of invalidated bids here: the buyer reads these details before the deadline,
    # and the number of bids is sealed. The bids side audits each bid it invalidates.
    details = {"fields": changed}
    if extended_from is not None:
        details["deadline_extended_from"] = extended_from.isoformat()
        details["deadline_extended_to"] = tender.deadline.isoformat()
    audit.record("tender", tender.id, "terms_changed", version=tender.version, actor=actor,
                 actor_org_id=tender.buyer_id, **details)
    record_change("tender", tender.id)


def _ceil_minute(value: datetime) -> datetime:
    if value.second or value.microsecond:
        value = value.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return value


def invalidate_bids(tender: Tender, now: datetime) -> None:
    """Call the bids side's hook ``invalidate_bids_for(tender, now)`` in this transaction.
    Only a missing bids package (so no bids can exist) is tolerated; a bids package without
    the hook is a bug and must fail loudly."""
    try:
        from marketplace.bids import services as bids_services
    except ModuleNotFoundError as exc:
        if exc.name not in ("marketplace.bids", "marketplace.bids.services"):
            raise
        return
    bids_services.invalidate_bids_for(tender, now)


def publish_tender(actor: User, tender: Tender, expected_version: int | None,
                   now: datetime) -> Tender:
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    if tender.status != TenderStatus.DRAFT:
        raise InvalidState("Only a draft can be published.")
    _check_version(tender, expected_version)
    missing = []
    if not tender.description.strip():
        missing.append("a description")
    if not tender.cpv_codes:
        missing.append("at least one CPV code")
    if tender.deadline is None:
        missing.append("a deadline")
    if missing:
        raise ValidationFailed("Before publishing, add " + ", ".join(missing) + ".")
    if tender.deadline <= now:
        raise ValidationFailed("The deadline has passed. Set a deadline in the future, "
                               "then publish.")
    tender.status = TenderStatus.OPEN
    tender.published_at = now
    tender.updated_at = now
    _flush_versioned(tender)
    audit.record("tender", tender.id, "published", version=tender.version, actor=actor,
                 actor_org_id=tender.buyer_id, deadline=tender.deadline.isoformat())
    record_change("tender", tender.id)
    return tender


def cancel_tender(actor: User, tender: Tender, reason: str, expected_version: int | None,
                  now: datetime) -> Tender:
    """Draft, open or closed (not yet decided) tenders can be cancelled, with a reason."""
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    # The version the buyer saw is checked before the clock's own closing bumps it.
    _check_version(tender, expected_version)
    close_if_due(tender, now)
    if tender.status not in (TenderStatus.DRAFT, TenderStatus.OPEN, TenderStatus.CLOSED):
        raise InvalidState(f"A {tender.status.value} tender cannot be cancelled.")
    return _finish(actor, tender, TenderStatus.CANCELLED, reason, now)


def mark_unsuccessful(actor: User, tender: Tender, reason: str, expected_version: int | None,
                      now: datetime) -> Tender:
    """After the deadline, the buyer may end a tender without an award."""
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    _check_version(tender, expected_version)
    close_if_due(tender, now)
    if tender.status != TenderStatus.CLOSED:
        raise InvalidState("Only a closed tender (deadline passed, not yet awarded) can be "
                           "declared unsuccessful.")
    return _finish(actor, tender, TenderStatus.UNSUCCESSFUL, reason, now)


def _finish(actor, tender: Tender, status: TenderStatus, reason: str, now: datetime) -> Tender:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason; bidders and the public will see it.")
    was = tender.status
    tender.status = status
    tender.cancel_reason = reason[:1000]
    if status == TenderStatus.CANCELLED:
        tender.cancelled_at = now
    tender.updated_at = now
    _flush_versioned(tender)
    audit.record("tender", tender.id, status.value, version=tender.version, actor=actor,
                 actor_org_id=tender.buyer_id, previous=was.value)
    record_change("tender", tender.id)
    if was != TenderStatus.DRAFT:
        _tell_bidders_it_ended(tender, now)
    return tender


def _tell_bidders_it_ended(tender: Tender, now: datetime) -> None:
    """Optional bids hook: bidders learn that the tender ended without an award."""
    try:
        from marketplace.bids import services as bids_services
    except ModuleNotFoundError as exc:
        if exc.name not in ("marketplace.bids", "marketplace.bids.services"):
            raise
        return
    hook = getattr(bids_services, "on_tender_ended", None)
    if hook is not None:
        hook(tender, now)


def mark_awarded(tender: Tender, now: datetime, *, actor=None, bid_id: int | None = None
                 ) -> Tender:
    """For the bids side's award service: the tender's half of an award, in its
    transaction. The caller holds the tender lock (``lock_tender``) and has checked rights."""
    close_if_due(tender, now)
    if tender.status != TenderStatus.CLOSED:
        raise InvalidState("Only a closed tender can be awarded.")
    tender.status = TenderStatus.AWARDED
    tender.updated_at = now
    _flush_versioned(tender)
    audit.record("tender", tender.id, "awarded", version=tender.version, actor=actor,
                 actor_org_id=tender.buyer_id, bid_id=bid_id)
    record_change("tender", tender.id)
    return tender


# -- documents ---------------------------------------------------------------------------------

def add_document(actor: User, tender: Tender, stored: StoredDocument, expected_version: int,
                 now: datetime) -> TenderDocument:
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    _check_documents_editable(tender, now)
    _check_version(tender, expected_version)
    if len(tender.documents) >= MAX_DOCUMENTS:
        raise ValidationFailed(f"A tender can have at most {MAX_DOCUMENTS} documents.")
    document = TenderDocument(
        stored_name=stored.stored_name, original_name=stored.original_name,
        content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
        uploaded_at=now, uploaded_by_id=actor.id)
    tender.documents.append(document)
    _document_changed(actor, tender, now, "document_added", document.original_name)
    return document


def remove_document(actor: User, tender: Tender, document_id: int, expected_version: int,
                    now: datetime) -> TenderDocument:
    tender = lock_tender(tender.id)
    _require_manager(actor, tender)
    _check_documents_editable(tender, now)
    _check_version(tender, expected_version)
    document = next((d for d in tender.documents if d.id == document_id), None)
    if document is None:
        from marketplace.errors import NotFound

        raise NotFound("No such document.")
    tender.documents.remove(document)
    _document_changed(actor, tender, now, "document_removed", document.original_name)
    return document


def _check_documents_editable(tender: Tender, now: datetime) -> None:
    if close_if_due(tender, now) or tender.status not in (TenderStatus.DRAFT,
                                                          TenderStatus.OPEN):
        raise InvalidState("Documents can only change while the tender is a draft or open.")


def _document_changed(actor, tender: Tender, now: datetime, action: str, name: str) -> None:
    tender.updated_at = now
    if tender.status == TenderStatus.OPEN:
        # Documents are part of the terms: bidders priced against them.
        _terms_changed(tender, now, [action], actor)
    else:
        _flush_versioned(tender)
        audit.record("tender", tender.id, action, version=tender.version, actor=actor,
                     actor_org_id=tender.buyer_id, document=name)


# -- reading -------------------------------------------------------------------------------------

def time_left(tender: Tender, now: datetime) -> timedelta | None:
    if tender.deadline is None or deadline_passed(tender, now):
        return None
    return tender.deadline - now


def humanise_time_left(delta: timedelta | None) -> str:
    if delta is None:
        return "Deadline passed"
    minutes = math.floor(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}, {hours} h left"
    if hours:
        return f"{hours} h {mins} min left"
    return f"{mins} min left" if mins else "less than a minute left"

