"""The one Whoosh schema shared by every kind of searchable thing.

Kinds: ``organisation``, ``alliance``, ``tender``, ``project``.  A document's
unique id is ``"<kind>:<id>"`` (``"org:12"``, ``"alliance:3"``,
``"tender:7"``, ``"project:4"``), see :func:`doc_id`.

Fields (``S`` = stored, ``C`` = sortable column):

==============  =========================================  =====================
field           type / analyzer                            use
==============  =========================================  =====================
doc_id          ID unique, S                               upserts, result ids
kind            ID S C                                     kind filter, counts
version         STORED int                                 stale-update checks
title           TEXT english, S, no positions (short)      name or title
summary         TEXT english, S, no positions              short summary
body            TEXT english, S (first 600 chars), no pos  description
capabilities    TEXT english, S, no positions              free capability tags
cpv             KEYWORD (no positions)                     own codes + ancestors
cpv_labels      TEXT english, no positions                 labels down from class
cpv_codes       STORED                                     own 8-digit codes
town, region    ID (lower-cased), S                        place filters
size            ID S                                       micro/small/...
certs           KEYWORD commas, lower-cased, S             certification names
status          ID S                                       tender status
lat, lon        NUMERIC float32 (shift 8), S               distance, bbox filter
radius_km       STORED                                     service radius
track_record    STORED int                                 confirmed projects
places          STORED                                     [(lat, lon, radius)]
text            TEXT english, positions, not stored        the search box's field
cjk             TEXT character bigrams                     Chinese/Japanese text
spell           TEXT simple (no stemming)                  "did you mean"
==============  =========================================  =====================

Numeric fields are few and coarse on purpose: each NUMERIC value is indexed
as several terms (bits / shift_step) and, during a build, every posting of
an unscored field costs a file-system ``stat`` in Whoosh 2.7.4.

``text`` holds the title twice, then capabilities, summary, the full body
and the CPV labels: the search box reads one posting list per word instead of
five (Whoosh scores every list of an OR in Python).  Repeating the title
approximates its query-time boost of 2; the other boosts (1 to 1.5) are dropped
for the search box.  A phrase may match across two of the joined texts.

Field weights are applied at query time (see :data:`TEXT_FIELD_BOOSTS`), so
they can be tuned without rebuilding the index.

Any change to the fields or analyzers above must bump :data:`SCHEMA_VERSION`: every
index records the version it was built with (:mod:`marketplace.search.index`), the app
refuses to read an index of another version and the indexer rebuilds it.
"""

from __future__ import annotations

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from marketplace.search.analysis import cjk_analyzer, english_analyzer, simple_analyzer

#: Version of :func:`build_schema` (and of what :mod:`documents` puts in it).
#: An index without a recorded version is version 1 (the schema when versions began).
#: 2: the combined ``text`` field; no positions on the separate text fields.
SCHEMA_VERSION = 2

KINDS = ("organisation", "alliance", "tender", "project")
ID_PREFIX = {"organisation": "org", "alliance": "alliance", "tender": "tender",
             "project": "project"}

#: English text fields and their query-time boosts (BM25F field weights).
TEXT_FIELD_BOOSTS = {
    "title": 2.0,
    "capabilities": 1.5,
    "cpv_labels": 1.0,
    "summary": 1.2,
    "body": 1.0,
}

#: The search box's field: the text fields above in one posting list per word.
SEARCH_TEXT_FIELD = "text"

#: Fields whose terms feed "did you mean".
SPELLING_FIELD = "spell"

#: Longest text stored for highlights; the full text is indexed.
STORED_BODY_CHARS = 600


def doc_id(kind: str, ident: object) -> str:
    """Unique index id, e.g. ``doc_id("organisation", 12) == "org:12"``."""
    return f"{ID_PREFIX[kind]}:{ident}"


def build_schema() -> Schema:
    """A fresh schema instance (analyzers are not shared between indexes)."""
    english = english_analyzer()
    return Schema(
        doc_id=ID(unique=True, stored=True),
        kind=ID(stored=True, sortable=True),
        version=STORED(),
        # no positions: phrases are searched on ``text``; matching reads weights only
        title=TEXT(analyzer=english, stored=True, phrase=False),
        summary=TEXT(analyzer=english, stored=True, phrase=False),
        body=TEXT(analyzer=english, stored=True, phrase=False),
        capabilities=TEXT(analyzer=english, stored=True, phrase=False),
        cpv=KEYWORD(scorable=True),
        cpv_labels=TEXT(analyzer=english, phrase=False),
        cpv_codes=STORED(),
        town=ID(stored=True),
        region=ID(stored=True),
        size=ID(stored=True),
        certs=KEYWORD(commas=True, lowercase=True, stored=True, scorable=True),
        status=ID(stored=True),
        lat=NUMERIC(float, bits=32, shift_step=8, stored=True),
        lon=NUMERIC(float, bits=32, shift_step=8, stored=True),
        radius_km=STORED(),
        track_record=STORED(),
        places=STORED(),
        text=TEXT(analyzer=english, phrase=True),
        cjk=TEXT(analyzer=cjk_analyzer(), phrase=True),
        spell=TEXT(analyzer=simple_analyzer(), phrase=False),
    )
