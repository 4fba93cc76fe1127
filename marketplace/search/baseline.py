"""Plain-Whoosh baseline, for benchmarks and evaluation only.

What an application gets from Whoosh with no design work: one ``content``
field with the standard analyzer, one writer with default settings, and a
match query that is the whole tender text as an OR query, scored with BM25F
defaults.  Not used by the application; it exists so that ``bench/`` can
compare against it without importing Whoosh outside this package.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from whoosh import index as whoosh_index
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Or, Term

_ANALYZER = StandardAnalyzer()


def build(path: str, records: Iterable[dict]) -> None:
    """Index ``{"id", "name", "description", ...}`` records into ``path``."""
    os.makedirs(path, exist_ok=True)
    ix = whoosh_index.create_in(path, Schema(id=ID(stored=True), content=TEXT()))
    w = ix.writer()
    for r in records:
        text = " ".join(str(r.get(k) or "") for k in ("name", "description"))
        caps = r.get("capabilities") or []
        if caps:
            text += " " + " ".join(map(str, caps))
        w.add_document(id=str(r["id"]), content=text)
    w.commit()


def open_searcher(path: str):
    return whoosh_index.open_dir(path).searcher()


def whole_text_query(text: str):
    """The whole text as an OR query (every distinct token)."""
    toks = list(dict.fromkeys(t.text for t in _ANALYZER(text or "")))
    return Or([Term("content", t) for t in toks]) if toks else None


def match(searcher, tender: dict, top: int = 20) -> list[tuple[str, float]]:
    """``[(id, score)]`` for the whole tender text as an OR query."""
    q = whole_text_query(" ".join(str(tender.get(k) or "") for k in ("title", "description")))
    if q is None:
        return []
    return [(h["id"], h.score) for h in searcher.search(q, limit=top)]


def search(searcher, text: str, top: int = 20) -> list[tuple[str, float]]:
    """A user search the plain way (OR of the words)."""
    q = whole_text_query(text)
    if q is None:
        return []
    return [(h["id"], h.score) for h in searcher.search(q, limit=top)]
