"""Turn plain dicts (DESIGN.md "Interchange formats") into index documents.

Each function takes a plain ``dict`` and returns the keyword arguments for
``writer.update_document(**doc)``; no database or Flask objects are involved.

``organisation_document(d)``
    ``id``, ``name`` required; optional ``summary``, ``description``,
    ``capabilities`` (list of tags), ``cpv_codes``, ``size``, ``town``,
    ``postcode``, ``region``, ``lat``, ``lon``, ``service_radius_km``,
    ``website``, ``certifications`` (names valid now; strings or dicts with
    ``name``), ``track_record`` (number of confirmed projects), ``version``.
``tender_document(d)``
    ``id``, ``title`` required; optional ``description``, ``cpv_codes``,
    ``town``, ``region``, ``lat``, ``lon``, ``status``, ``requirements``
    (see :func:`normalise_requirements`), ``version``.
``alliance_document(d)``
    ``id``, ``name``; optional ``summary``, ``description``, ``capabilities``,
    ``cpv_codes``, ``certifications``, ``town``, ``region``, ``lat``, ``lon``,
    ``service_radius_km``, ``track_record``, ``version`` and ``members``: a
    list of dicts (``name``, ``capabilities``, ``cpv_codes``,
    ``certifications``, ``lat``, ``lon``, ``service_radius_km``) whose
    capabilities, codes, certifications and places are merged in.
``project_document(d)``
    ``id``, ``title``; optional ``description``, ``year``, ``client``,
    ``cpv_codes``, ``town``, ``region``, ``lat``, ``lon``, ``version`` and
    ``partners`` (list of dicts with ``name`` and ``confirmed``): only
    confirmed partners are indexed.  Pass only projects with at least one
    confirmed credit.

``document_for(kind, d)`` dispatches on the kind.  Sealed things (bids) have
no document function on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from marketplace.search import cpv
from marketplace.search.analysis import has_cjk
from marketplace.search.schema import STORED_BODY_CHARS, doc_id

DEFAULT_RADIUS_KM = 50.0
#: Labels are indexed from each code up to its class (4 digits): group and
#: division labels are generic ("Construction work") and cost postings.
CPV_LABEL_MIN_LEVEL = 4
#: Decimal places of the indexed lat/lon (0.01 degree, about 1 km). Exact values are
#: stored; the index only serves the "near" bounding box, and full-precision points made
#: every document two terms of its own (60 % of all terms, each a posting list to write).
GRID_DECIMALS = 2


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | set):
        return "; ".join(_text(v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("value") or "")
    return str(value).strip()


def _key(value: object) -> str:
    """Normalised form for exact-match ID fields (town, region, size...)."""
    return " ".join(_text(value).lower().split())


def _float(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _latlon(d: dict) -> tuple[float, float] | None:
    lat, lon = _float(d.get("lat")), _float(d.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        return None
    return lat, lon


def normalise_cert(name: object) -> str:
    """Certification name as indexed and compared: lower case, single spaces,
    no commas (``"ISO  9001"`` -> ``"iso 9001"``)."""
    return " ".join(_text(name).replace(",", " ").lower().split())


def _certs(values: Iterable[object] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        n = normalise_cert(v)
        if n and n not in out:
            out.append(n)
    return out


def _codes(values: Iterable[object] | None) -> list[str]:
    out: list[str] = []
    for v in values or ():
        c = cpv.normalise(v)
        if c and c not in out:
            out.append(c)
    return out


def normalise_requirements(reqs: object) -> list[dict]:
    """Tender requirements as ``[{"type": "capability"|"cpv"|"certification",
    "value": str}]``.

    Accepts dicts with ``type``/``kind`` and ``value``/``name``/``code``, or
    plain strings (taken as capabilities).  Unknown shapes are dropped.
    """
    out: list[dict] = []
    if not isinstance(reqs, list | tuple):
        return out
    for r in reqs:
        if isinstance(r, str):
            typ, val = "capability", r
        elif isinstance(r, dict):
            default = "cpv" if r.get("code") and not r.get("name") else "capability"
            typ = str(r.get("type") or r.get("kind") or default).lower()
            val = r.get("value") or r.get("name") or r.get("code") or ""
        else:
            continue
        typ = {"cert": "certification", "certificate": "certification",
               "cpv_code": "cpv", "code": "cpv"}.get(typ, typ)
        if typ == "certification":
            val = normalise_cert(val)
        elif typ == "cpv":
            val = cpv.normalise(val) or ""
        else:
            typ, val = "capability", _text(val)
        if val:
            out.append({"type": typ, "value": val})
    return out


def _base(kind: str, d: dict, title: str, *, summary: object = "", body: object = "",
          capabilities: object = (), codes: list[str] = (), certs: list[str] = (),
          places: list[tuple[float, float, float]] = (), spell_extra: str = "") -> dict:
    body_text = _text(body)
    summary_text = _text(summary)
    caps_text = _text(list(capabilities))
    doc: dict = {
        "doc_id": doc_id(kind, d["id"]),
        "kind": kind,
        "version": int(d.get("version") or 0),
        "title": title,
        "summary": summary_text,
        "body": body_text,
        "_stored_body": body_text[:STORED_BODY_CHARS],
        "capabilities": caps_text,
        "cpv": " ".join(cpv.expand(codes)),
        "cpv_labels": " ; ".join(cpv.labels_for(codes, min_level=CPV_LABEL_MIN_LEVEL)),
        "cpv_codes": list(codes),
        "town": _key(d.get("town")),
        "_stored_town": _text(d.get("town")),
        "region": _key(d.get("region")),
        "_stored_region": _text(d.get("region")),
        "size": _key(d.get("size")),
        "certs": ",".join(certs),
        "_stored_certs": list(certs),
        "track_record": max(0, int(_float(d.get("track_record")) or 0)),
        "places": [tuple(p) for p in places],
        "spell": " ".join(x for x in (title, caps_text, spell_extra) if x),
    }
    doc["text"] = " ; ".join(x for x in (title, title, caps_text, summary_text, body_text,
                                         doc["cpv_labels"]) if x)
    loc = _latlon(d)
    if loc:
        doc["lat"], doc["lon"] = (round(x, GRID_DECIMALS) for x in loc)
        doc["_stored_lat"], doc["_stored_lon"] = loc
        radius = _float(d.get("service_radius_km"))
        if radius is not None and radius >= 0:
            doc["radius_km"] = radius
    alltext = " ".join((title, summary_text, body_text, caps_text))
    if has_cjk(alltext):
        doc["cjk"] = alltext
    # Whoosh rejects None values; drop empty optional fields
    return {k: v for k, v in doc.items() if v is not None}


def _radius(d: dict) -> float:
    r = _float(d.get("service_radius_km"))
    return r if r is not None and r >= 0 else DEFAULT_RADIUS_KM


def organisation_document(d: dict) -> dict:
    """Index document for an organisation's published capability profile."""
    loc = _latlon(d)
    places = [(loc[0], loc[1], _radius(d))] if loc else []
    return _base(
        "organisation", d, _text(d.get("name")),
        summary=d.get("summary"), body=d.get("description"),
        capabilities=d.get("capabilities") or (), codes=_codes(d.get("cpv_codes")),
        certs=_certs(d.get("certifications")), places=places,
        spell_extra=_text(d.get("town")),
    )


def tender_document(d: dict) -> dict:
    """Index document for a tender (open or past; never a draft's bids)."""
    reqs = normalise_requirements(d.get("requirements"))
    codes = _codes(list(d.get("cpv_codes") or ()) +
                   [r["value"] for r in reqs if r["type"] == "cpv"])
    caps = [r["value"] for r in reqs if r["type"] == "capability"]
    certs = [r["value"] for r in reqs if r["type"] == "certification"]
    loc = _latlon(d)
    doc = _base(
        "tender", d, _text(d.get("title")),
        summary=d.get("summary") or d.get("buyer"), body=d.get("description"),
        capabilities=caps, codes=codes, certs=certs,
        places=[(loc[0], loc[1], 0.0)] if loc else [],
    )
    doc["status"] = _key(d.get("status") or "open")
    return doc


def alliance_document(d: dict) -> dict:
    """Index document for an alliance: its own page plus its members' cover."""
    members = [m for m in d.get("members") or () if isinstance(m, dict)]
    caps = list(d.get("capabilities") or ())
    codes = list(d.get("cpv_codes") or ())
    certs = list(d.get("certifications") or ())
    places = []
    loc = _latlon(d)
    if loc:
        places.append((loc[0], loc[1], _radius(d)))
    for m in members:
        caps.extend(m.get("capabilities") or ())
        codes.extend(m.get("cpv_codes") or ())
        certs.extend(m.get("certifications") or ())
        mloc = _latlon(m)
        if mloc:
            places.append((mloc[0], mloc[1], _radius(m)))
    seen: set[str] = set()
    caps = [c for c in caps if not (_key(c) in seen or seen.add(_key(c)))]
    if not loc and places:
        # a point to filter by: the first member with a place
        d = dict(d, lat=places[0][0], lon=places[0][1],
                 service_radius_km=max(p[2] for p in places))
    member_names = "; ".join(_text(m.get("name")) for m in members if m.get("name"))
    return _base(
        "alliance", d, _text(d.get("name")),
        summary=d.get("summary"),
        body=" ".join(x for x in (_text(d.get("description")), member_names) if x),
        capabilities=caps, codes=_codes(codes), certs=_certs(certs), places=places,
    )


def project_document(d: dict) -> dict:
    """Index document for a collaborative project with confirmed credits."""
    partners = [p for p in d.get("partners") or () if isinstance(p, dict)
                and p.get("confirmed", True)]
    names = "; ".join(_text(p.get("name")) for p in partners if p.get("name"))
    loc = _latlon(d)
    return _base(
        "project", d, _text(d.get("title")),
        summary=" ".join(x for x in (_text(d.get("client")), _text(d.get("year"))) if x),
        body=" ".join(x for x in (_text(d.get("description")), names) if x),
        capabilities=d.get("capabilities") or (), codes=_codes(d.get("cpv_codes")),
        places=[(loc[0], loc[1], 0.0)] if loc else [],
    )


_BUILDERS = {
    "organisation": organisation_document,
    "tender": tender_document,
    "alliance": alliance_document,
    "project": project_document,
}


def document_for(kind: str, d: dict) -> dict:
    """Dispatch to the document function of ``kind``."""
    return _BUILDERS[kind](d)
