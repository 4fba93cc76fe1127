"""OCDS 1.1 export: each published tender as a release, and release packages for the feed.

Sealed rule (DESIGN "Bids"): before the deadline a release says nothing of bids, not even
how many there are; afterwards it carries the bids extension's ``bids.details`` (every
tenderer of a joint bid, the lead named in ``leadTenderer`` and listed first) and, once
awarded, an award naming every member of the winning bid as a supplier. A tender cancelled
before its deadline never opens its bids, as on the site.
"""

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace import cpv
from marketplace.extensions import db
from marketplace.models import Bid, BidRole, BidState, Organisation, Tender, TenderStatus
from marketplace.models.bid import OPENED_STATES
from marketplace.tenders.lifecycle import deadline_passed, effective_status

OCDS_VERSION = "1.1"
DEFAULT_OCID_PREFIX = "ocds-guild00"
BIDS_EXTENSION_URL = ("https://raw.githubusercontent.com/open-contracting-extensions/"
                      "ocds_bid_extension/v1.1.5/extension.json")
TENDER_STATUS = {
    TenderStatus.DRAFT: "planning", TenderStatus.OPEN: "active",
    TenderStatus.CLOSED: "active", TenderStatus.AWARDED: "complete",
    TenderStatus.CANCELLED: "cancelled", TenderStatus.UNSUCCESSFUL: "unsuccessful",
}


def ocid_prefix() -> str:
    return current_app.config.get("OCDS_OCID_PREFIX") or DEFAULT_OCID_PREFIX


def ocid(tender: Tender) -> str:
    return f"{ocid_prefix()}-{tender.id}"


def _date(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _party_id(org: Organisation) -> str:
    return f"GUILD-ORG-{org.id}"


def _ref(org: Organisation) -> dict:
    return {"id": _party_id(org), "name": org.name}


def _value(amount, currency: str) -> dict:
    return {"amount": float(amount), "currency": currency}


def is_exportable(tender: Tender) -> bool:
    """Published tenders of visible buyers; drafts are nobody's business."""
    return tender.status != TenderStatus.DRAFT and tender.buyer.hidden_at is None


def bids_are_open(tender: Tender, now: datetime) -> bool:
    cancelled_early = (tender.cancelled_at is not None and tender.deadline is not None
                       and tender.cancelled_at < tender.deadline)
    return deadline_passed(tender, now) and not cancelled_early


def opened_bids(tender: Tender, now: datetime) -> list[Bid]:
    if not bids_are_open(tender, now):
        return []
    return list(db.session.scalars(
        select(Bid).where(Bid.tender_id == tender.id, Bid.state.in_(OPENED_STATES))
        .options(selectinload(Bid.members)).order_by(Bid.id)))


def _tenderers(bid: Bid) -> list[Organisation]:
    """Lead first, then members and subcontractors by name."""
    members = sorted(bid.members, key=lambda m: (m.role != BidRole.LEAD,
                                                 m.organisation.name.lower()))
    return [m.organisation for m in members]


def _bid_detail(bid: Bid, tender: Tender) -> dict:
    detail = {
        "id": str(bid.id),
        "status": "disqualified" if bid.state == BidState.DISQUALIFIED else "valid",
        "date": _date(bid.submitted_at),
        "tenderers": [_ref(org) for org in _tenderers(bid)],
        # Not in the bids extension: which tenderer leads a joint bid.
        "leadTenderer": _ref(bid.lead_org),
        "submissionType": "bid",
    }
    if bid.price is not None:
        detail["value"] = _value(bid.price, bid.currency or tender.currency)
    return detail


def release(tender: Tender, now: datetime) -> dict:
    """The tender's current state as one OCDS release."""
    status = effective_status(tender, now)
    buyer = tender.buyer
    parties: dict[str, dict] = {_party_id(buyer): {**_ref(buyer), "roles": ["buyer"]}}
    items = [{"id": str(i), "description": cpv.label(c.code) or c.code,
              "classification": {"scheme": "CPV", "id": c.code,
                                 "description": cpv.label(c.code) or c.code}}
             for i, c in enumerate(tender.cpv_codes, start=1)]
    if tender.town and items:
        for item in items:
            item["deliveryAddress"] = {k: v for k, v in (
                ("locality", tender.town), ("region", tender.region),
                ("postalCode", tender.postcode), ("countryName", "United Kingdom")) if v}
    ocds_tender = {
        "id": str(tender.id), "title": tender.title, "description": tender.description or "",
        "status": TENDER_STATUS[status], "procurementMethod": "open",
        "tenderPeriod": {k: v for k, v in (("startDate", _date(tender.published_at)),
                                           ("endDate", _date(tender.deadline))) if v},
    }
    if items:
        ocds_tender["items"] = items
    if tender.budget_max is not None:
        ocds_tender["value"] = _value(tender.budget_max, tender.currency)
    if tender.budget_min is not None:
        ocds_tender["minValue"] = _value(tender.budget_min, tender.currency)
    tags = ["tender"]
    # A release id names one state: opening the bids at the deadline is a new release.
    phase = "opened" if bids_are_open(tender, now) else "sealed"
    data = {"ocid": ocid(tender), "id": f"{ocid(tender)}-v{tender.version}-{phase}",
            "date": _date(tender.updated_at or tender.published_at or tender.created_at),
            "tag": tags, "initiationType": "tender", "language": "en",
            "buyer": _ref(buyer), "tender": ocds_tender}
    if status == TenderStatus.CANCELLED:
        tags[0] = "tenderCancellation"
    bids = opened_bids(tender, now)
    if bids:
        details = [_bid_detail(b, tender) for b in bids]
        for bid in bids:
            for org in _tenderers(bid):
                party = parties.setdefault(_party_id(org), {**_ref(org), "roles": []})
                if "tenderer" not in party["roles"]:
                    party["roles"].append("tenderer")
        data["bids"] = {"details": details}
        ocds_tender["numberOfTenderers"] = len({t["id"] for d in details
                                                for t in d["tenderers"]})
        winner = next((b for b in bids if b.state == BidState.AWARDED), None)
        if winner is not None:
            suppliers = _tenderers(winner)
            for org in suppliers:
                parties[_party_id(org)]["roles"].append("supplier")
            award = {"id": f"{ocid(tender)}-award-{winner.id}", "status": "active",
                     "date": _date(winner.decided_at), "relatedBid": str(winner.id),
                     "suppliers": [_ref(org) for org in suppliers]}
            if winner.price is not None:
                award["value"] = _value(winner.price, winner.currency or tender.currency)
            data["awards"] = [award]
            tags.append("award")
    data["parties"] = list(parties.values())
    return data


def release_package(releases: list[dict], *, uri: str, published: datetime,
                    next_uri: str | None = None) -> dict:
    package = {
        "uri": uri,
        "version": OCDS_VERSION,
        "publishedDate": _date(published),
        "publisher": {"name": current_app.config.get("OCDS_PUBLISHER_NAME", "Guild")},
        "license": current_app.config.get("OCDS_LICENSE",
                                          "https://creativecommons.org/licenses/by/4.0/"),
        "extensions": [BIDS_EXTENSION_URL],
        "releases": releases,
    }
    if next_uri:
        package["links"] = {"next": next_uri}
    return package


def exportable_tenders_query():
    buyer = select(Organisation.id).where(Organisation.hidden_at.is_(None))
    return (select(Tender).where(Tender.status != TenderStatus.DRAFT,
                                 Tender.buyer_id.in_(buyer))
            .options(selectinload(Tender.cpv_codes), selectinload(Tender.buyer)))
