"""Reading OCDS 1.1 releases (a release package, or JSON Lines of releases) as tenders.

A contracting process can appear in several releases (tender, amendment, award...). They
are merged per ``ocid`` in date order, later values winning, which approximates the
compiled release closely enough for the fields Guild takes: title, description, CPV codes
from the items' classifications, tender period end (the deadline), value and minValue
(the budget), the buyer's name and the delivery address or location of the first item
that has one. Malformed parts never raise: they are left out, or reported by the tender
checks under their OCDS path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from marketplace.importers.sources import FileUnreadable, RawRecord

# Tender fields -> where they come from, for the error report.
OCDS_LABELS = {
    "id": "ocid",
    "title": "tender.title",
    "description": "tender.description",
    "cpv_codes": "tender.items.classification",
    "deadline": "tender.tenderPeriod.endDate",
    "budget_min": "tender.minValue.amount",
    "budget_max": "tender.value.amount",
    "currency": "tender.value.currency",
    "buyer": "buyer.name",
    "town": "tender.items.deliveryAddress.locality",
    "region": "tender.items.deliveryAddress.region",
    "postcode": "tender.items.deliveryAddress.postalCode",
    "lat": "tender.items.deliveryLocation.geometry",
    "lon": "tender.items.deliveryLocation.geometry",
    "status": "tender.status",
    "notice_url": "tender.documents.url",
    "date": "date",
    "publisher": "publisher.name",
    "licence": "license",
}


def _obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def is_release(data: dict) -> bool:
    return "ocid" in data


def package_releases(document: object) -> tuple[dict, Iterator[RawRecord]]:
    """The package's metadata (publisher, licence) and its releases by position."""
    if isinstance(document, list):
        meta, releases = {}, document
    elif isinstance(document, dict) and "releases" in document:
        meta, releases = document, document["releases"]
        if not isinstance(releases, list):
            raise FileUnreadable("'releases' must be a list of OCDS releases")
    else:
        raise FileUnreadable("expected an OCDS release package: {\"releases\": [...]}")

    def records() -> Iterator[RawRecord]:
        for index, release in enumerate(releases):
            position = f"releases[{index}]"
            if isinstance(release, dict):
                yield RawRecord(None, release, position=position)
            else:
                yield RawRecord(None, error=("release", "expected an object {...}"),
                                position=position)

    publisher = _obj(meta.get("publisher")).get("name")
    return {"publisher": publisher, "licence": meta.get("license")}, records()


def merge_by_ocid(records: Iterable[RawRecord]) -> list[RawRecord]:
    """One record per contracting process; unreadable ones and those without an ocid are
    passed through for the checks to report."""
    merged: dict[str, list[RawRecord]] = {}
    out: list[RawRecord | str] = []
    for raw in records:
        ocid = raw.data.get("ocid") if raw.data is not None else None
        if not isinstance(ocid, str) or not ocid.strip():
            out.append(raw)
            continue
        if ocid not in merged:
            merged[ocid] = []
            out.append(ocid)
        merged[ocid].append(raw)
    result = []
    for item in out:
        if isinstance(item, RawRecord):
            result.append(item)
            continue
        group = merged[item]
        if len(group) == 1:
            result.append(group[0])
            continue
        ordered = sorted(group, key=lambda r: str(_obj(r.data).get("date") or ""))
        data: dict = {}
        for raw in ordered:
            data = _deep_merge(data, raw.data or {})
        last = ordered[-1]
        result.append(RawRecord(last.line, data, position=last.position))
    return result


def _deep_merge(base: dict, update: dict) -> dict:
    result = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        elif value is not None:
            result[key] = value
    return result


def tender_fields(release: dict, meta: dict | None = None) -> dict:
    """The release as a record in the DESIGN.md tender format (plus provenance fields)."""
    meta = meta or {}
    tender = _obj(release.get("tender"))
    items = [i for i in _list(tender.get("items")) if isinstance(i, dict)]
    value, min_value = _obj(tender.get("value")), _obj(tender.get("minValue"))
    record: dict = {
        "id": release.get("ocid"),
        "title": tender.get("title"),
        "description": tender.get("description"),
        "cpv_codes": _cpv_codes(items),
        "deadline": _obj(tender.get("tenderPeriod")).get("endDate"),
        "budget_max": value.get("amount"),
        "budget_min": min_value.get("amount"),
        "currency": value.get("currency") or min_value.get("currency"),
        "buyer": _buyer_name(release, tender),
        "status": tender.get("status"),
        "notice_url": _notice_url(tender),
        "date": release.get("date"),
        "publisher": meta.get("publisher"),
        "licence": meta.get("licence"),
    }
    record.update(_delivery_place(items))
    if (value.get("currency") and min_value.get("currency")
            and value.get("currency") != min_value.get("currency")):
        record["_errors"] = [("tender.minValue.currency",
                              "differs from tender.value.currency")]
    return record


def _cpv_codes(items: list[dict]) -> list:
    codes = []
    for item in items:
        schemes = [item.get("classification"), *_list(item.get("additionalClassifications"))]
        for classification in schemes:
            classification = _obj(classification)
            scheme = str(classification.get("scheme") or "").strip().upper()
            if scheme == "CPV" and classification.get("id") is not None:
                codes.append(classification["id"])
    return codes


def _buyer_name(release: dict, tender: dict) -> object:
    name = _obj(release.get("buyer")).get("name")
    if name:
        return name
    for party in _list(release.get("parties")):
        party = _obj(party)
        if "buyer" in _list(party.get("roles")) and party.get("name"):
            return party["name"]
    return _obj(tender.get("procuringEntity")).get("name")


def _notice_url(tender: dict) -> object:
    for document in _list(tender.get("documents")):
        document = _obj(document)
        if document.get("documentType") == "tenderNotice" and document.get("url"):
            return document["url"]
    return None


def _delivery_place(items: list[dict]) -> dict:
    place: dict = {}
    for item in items:
        address = _obj(item.get("deliveryAddress")) or next(
            (a for a in _list(item.get("deliveryAddresses")) if isinstance(a, dict)), {})
        if address and "town" not in place:
            place.update(town=address.get("locality"), region=address.get("region"),
                         postcode=address.get("postalCode"))
        geometry = _obj(_obj(item.get("deliveryLocation")).get("geometry"))
        coordinates = _list(geometry.get("coordinates"))
        if geometry.get("type") == "Point" and len(coordinates) == 2 and "lat" not in place:
            # GeoJSON order is longitude, latitude.
            place.update(lon=coordinates[0], lat=coordinates[1])
    return place
