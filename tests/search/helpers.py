"""Tiny made-up data for the search tests (no dev-set records)."""

from __future__ import annotations

from marketplace.search.documents import (
    alliance_document,
    organisation_document,
    tender_document,
)
from marketplace.search.index import build_index, open_index

ORGS = [
    {"id": 1, "name": "Brightwater Roofing", "description": "Roof repairs, slate and tile roofing, "
     "leadwork and gutter replacement for schools and housing.", "capabilities": ["roofing",
     "leadwork"], "cpv_codes": ["45261000"], "town": "Leeds", "region": "Yorkshire",
     "lat": 53.80, "lon": -1.55, "service_radius_km": 40, "size": "small",
     "certifications": ["ISO 9001", "CHAS"], "track_record": 3},
    {"id": 2, "name": "Hillside Builders", "description": "General construction work, "
     "extensions and new build housing.", "capabilities": ["construction"],
     "cpv_codes": ["45000000"], "town": "Leeds", "region": "Yorkshire", "lat": 53.79,
     "lon": -1.54, "service_radius_km": 40, "size": "micro"},
    {"id": 3, "name": "Harbour Roof Care", "description": "Roof repairs and roofing work, "
     "slate roofs, flat roofs and gutters.", "capabilities": ["roofing"],
     "cpv_codes": ["45261000"], "town": "Plymouth", "region": "Devon", "lat": 50.37,
     "lon": -4.14, "service_radius_km": 30, "size": "small"},
    {"id": 4, "name": "Pixel Forge", "description": "Web design and software development "
     "for councils; accessible websites.", "capabilities": ["web design", "software"],
     "cpv_codes": ["72212000", "72413000"], "town": "York", "region": "Yorkshire",
     "lat": 53.96, "lon": -1.08, "service_radius_km": 100},
    {"id": 5, "name": "公開建築工程公司", "description": "承接公開投標的建築工程與屋頂維修。",
     "capabilities": ["建築"], "cpv_codes": ["45000000"], "town": "Taipei"},
    {"id": 6, "name": "Greenleaf Gardens", "description": "Grounds maintenance, tree surgery "
     "and landscaping for parks.", "capabilities": ["landscaping", "tree surgery"],
     "cpv_codes": ["77310000"], "town": "Leeds", "lat": 53.8, "lon": -1.5},
]


def build(path, orgs=ORGS, tenders=(), alliances=()):
    docs = [organisation_document(o) for o in orgs]
    docs += [tender_document(t) for t in tenders]
    docs += [alliance_document(a) for a in alliances]
    build_index(str(path), docs, procs=1)
    return open_index(str(path))


#: Words that trip analyzers up: stop words, case, accents, dotted forms, CJK, markup.
AWKWARD_WORDS = (
    "roof", "roofing", "Roofs", "the", "and", "of", "a", "Défense", "defence", "3.5", "e.g.",
    "U.K.", "İstanbul", "straße", "naïve", "x", "tenders", "tendering", "投標", "公開投標",
    "school", "schools", "repair", "repairs", "lead-work", "IT", "it's", "O'Neil", "42", "v2",
    "__init__", "café", "ﬁle", "ǅemal", "Ωmega", "μg", "<b>", "&amp;")
