"""The canonical content of a bid version and its SHA-256, the hash on every receipt.

Canonical JSON: keys sorted, no insignificant whitespace, UTF-8, amounts as fixed-point
strings (never floats), lists in a stable order (members by organisation id, documents by
id). Anyone holding the version's JSON can recompute the hash and check a receipt.
"""

import hashlib
import json
from decimal import Decimal

from marketplace.models import Bid


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def canonical_content(bid: Bid, version: int) -> dict:
    return {
        "bid_id": bid.id,
        "tender_id": bid.tender_id,
        "version": version,
        "party": ({"kind": "alliance", "id": bid.party_alliance_id}
                  if bid.party_alliance_id is not None
                  else {"kind": "organisation", "id": bid.party_org_id}),
        "lead_organisation_id": bid.lead_org_id,
        "price": _amount(bid.price),
        "currency": bid.currency,
        "proposal": bid.proposal or "",
        "members": [
            {"organisation_id": m.organisation_id, "name": m.organisation.name,
             "role": m.role.value, "work_share": _amount(m.work_share)}
            for m in sorted(bid.members, key=lambda m: m.organisation_id)],
        "documents": [
            {"id": d.id, "name": d.filename, "sha256": d.sha256, "size": d.size}
            for d in sorted(bid.live_documents, key=lambda d: d.id)],
    }


def canonical_json(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def content_hash(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()
