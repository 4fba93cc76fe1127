"""Safe parsing and execution of search-box queries.

``search(searcher, q, kind=None, filters=None, page=1, pagelen=20)``
returns a :class:`SearchPage`; it never raises for any user input.

Parsing (:func:`parse_user_query`):

* the text is cut to :data:`MAX_QUERY_CHARS` characters (at a word boundary)
  and control characters are removed;
* a ``QueryParser`` over the combined ``text`` field (title twice, capabilities,
  summary, body and CPV labels in one posting list: one list per word instead of
  five, see ``schema.py``) with AND between words (if AND finds nothing, the words
  are OR-ed: ``SearchPage.relaxed``); ``title:word`` still searches one field;
  the English analyzer stems both sides ("tendering" finds "tenders");
  ``"quoted words"`` are phrase queries, ``word*`` prefix queries;
* leading wildcards (``*ing``, ``?oo``) would scan the whole term list: the
  wildcard characters are stripped (``*ing`` -> ``ing``) and a wildcard or
  prefix with fewer than :data:`MIN_PREFIX` literal characters before it
  becomes a plain term;
* runs of CJK characters are searched on the ``cjk`` bigram field, each run
  as a phrase of its bigrams (a single word such as 投標 is one bigram), and
  combined with the rest of the query;
* ``QueryParserError`` (and anything else the parser throws) and
  ``QueryError`` at search time (e.g. a phrase on a field without positions)
  fall back to the plain words of the text, escaped, OR-ed
  (``SearchPage.fallback``).

Results: totals come from the per-kind counts (or ``scored_length()`` /
``estimated_length()``, never ``len(results)``); per-kind counts are exact and
computed on cached bitsets without scoring (:func:`count_by_kind`); highlights are
made only for the hits of the shown page from the short stored fields
(HTML-escaped, matches in ``<mark>``), with the same text parsed over the separate
fields (``combined=False``) so the highlighter knows each field's words; "did you
mean" uses the index's own terms of the small ``spell`` field (names, capabilities, towns).

One searcher per thread; see :mod:`marketplace.search.index`.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
import weakref
from dataclasses import dataclass, field

from whoosh import highlight
from whoosh.qparser import AndGroup, MultifieldParser, OrGroup, QueryParser
from whoosh.qparser.common import QueryParserError
from whoosh.query import (
    And,
    FuzzyTerm,
    NumericRange,
    Or,
    Phrase,
    Prefix,
    QueryError,
    Regex,
    Term,
    Wildcard,
)
from whoosh.support.charset import accent_map

from marketplace.search.analysis import CJK_RUN, analyze, cjk_analyzer
from marketplace.search.docsets import bits_of, named_bits, query_bits
from marketplace.search.highlighting import FastHighlighter
from marketplace.search.schema import (
    KINDS,
    SEARCH_TEXT_FIELD,
    SPELLING_FIELD,
    TEXT_FIELD_BOOSTS,
)
from marketplace.search.scoring import cached_lengths

MAX_QUERY_CHARS = 200
MIN_PREFIX = 2
SEARCH_FIELDS = tuple(TEXT_FIELD_BOOSTS)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LEADING_WILD = re.compile(r"(^|[\s(:\"+\-])[*?]+")
_WORD = re.compile(r"[^\W_]+")
_CJK_ANALYZER = cjk_analyzer()


@dataclass
class Hit:
    doc_id: str
    kind: str
    title: str
    score: float
    town: str = ""
    region: str = ""
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchPage:
    query: str
    parsed: str
    hits: list[Hit]
    page: int
    pagelen: int
    total: int
    total_is_exact: bool
    counts_by_kind: dict[str, int]
    did_you_mean: str | None = None
    relaxed: bool = False
    fallback: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.pagelen)) if self.pagelen else 1


# ---------------------------------------------------------------- parsing

def clean_text(text: object) -> str:
    """Normalise, strip control characters and cap the length."""
    s = unicodedata.normalize("NFKC", str(text or ""))
    s = _CONTROL.sub(" ", s).strip()
    if len(s) > MAX_QUERY_CHARS:
        cut = s[:MAX_QUERY_CHARS]
        space = cut.rfind(" ")
        s = cut[:space] if space > MAX_QUERY_CHARS // 2 else cut
    return s


def _parser(schema, group, combined: bool = True):
    if combined and SEARCH_TEXT_FIELD in schema:
        return QueryParser(SEARCH_TEXT_FIELD, schema, group=group)
    return MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=dict(TEXT_FIELD_BOOSTS),
                            group=group)


def _tame(q, notes: list[str]):
    """Rewrite expensive or dangerous nodes of a parsed query tree."""
    if isinstance(q, Wildcard | Prefix) and not isinstance(q, FuzzyTerm):
        text = q.text if isinstance(q.text, str) else str(q.text)
        literal = re.split(r"[*?]", text, maxsplit=1)[0] if isinstance(q, Wildcard) else text
        if len(literal) < MIN_PREFIX:
            stripped = text.strip("*?")
            notes.append("wildcard-rewritten")
            if not stripped or re.search(r"[*?]", stripped):
                return None
            return Term(q.fieldname, stripped, boost=q.boost)
        return q
    if isinstance(q, Regex):
        notes.append("regex-dropped")
        return None
    if isinstance(q, FuzzyTerm) and len(q.text) < 4:
        return Term(q.fieldname, q.text, boost=q.boost)
    if hasattr(q, "subqueries") and not isinstance(q, Phrase):
        subs = [s for s in (_tame(s, notes) for s in q.subqueries) if s is not None]
        if not subs:
            return None
        q.subqueries = subs
        return q
    if hasattr(q, "child"):
        c = _tame(q.child, notes)
        if c is None:
            return None
        q.child = c
        return q
    return q


def _cjk_query(text: str):
    parts = []
    for run in CJK_RUN.findall(text):
        toks = [t.text for t in _CJK_ANALYZER(run, mode="query")]
        if len(toks) == 1:
            parts.append(Term("cjk", toks[0]) if len(toks[0]) > 1 else Prefix("cjk", toks[0]))
        elif toks:
            parts.append(Phrase("cjk", toks))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(parts)


def plain_query(text: str, *, conjunctive: bool = False, combined: bool = True):
    """The escaped plain words of ``text`` over the search fields (fallback)."""
    subs = []
    for stem in dict.fromkeys(analyze(" ".join(_WORD.findall(CJK_RUN.sub(" ", text))))):
        if combined:
            subs.append(Term(SEARCH_TEXT_FIELD, stem))
        else:
            subs.append(Or([Term(f, stem, boost=b) for f, b in TEXT_FIELD_BOOSTS.items()]))
    cjk = _cjk_query(text)
    if cjk is not None:
        subs.append(cjk)
    if not subs:
        return None
    if len(subs) == 1:
        return subs[0]
    return And(subs) if conjunctive else Or(subs)


def parse_user_query(schema, text: str, *, conjunctive: bool = True, combined: bool = True):
    """Parse search-box text into a Whoosh query; never raises.

    Returns ``(query or None, notes)``; notes name rewrites that happened
    (``"wildcard-rewritten"``, ``"fallback"``...).  ``combined=False`` searches the
    separate text fields (for highlights) instead of the combined ``text`` field.
    """
    notes: list[str] = []
    text = clean_text(text)
    if not text:
        return None, notes
    latin = CJK_RUN.sub(" ", text)
    latin = _LEADING_WILD.sub(lambda m: m.group(1), latin)
    q = None
    if latin.strip():
        group = AndGroup if conjunctive else OrGroup.factory(0.9)
        try:
            q = _parser(schema, group, combined).parse(latin)
            q = _tame(q, notes)
            if q is not None:
                q = q.normalize()
        except (QueryParserError, QueryError, Exception):  # the parser can throw anything
            notes.append("fallback")
            q = plain_query(latin, conjunctive=conjunctive, combined=combined)
        if q is not None and _is_null(q):
            q = None
    cjk = _cjk_query(text)
    if cjk is not None:
        q = cjk if q is None else And([q, cjk])
    return q, notes


def _is_null(q) -> bool:
    from whoosh.query import NullQuery

    return q is NullQuery or q.__class__.__name__ == "_NullQuery"


# ---------------------------------------------------------------- filters

_SET_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def allow_docs(searcher, fieldname: str, values: tuple[str, ...]) -> set[int]:
    """Docnums with ``fieldname`` in ``values``, cached per index reader
    (for big, often-used filters such as kind and status)."""
    per = _SET_CACHE.setdefault(searcher.reader(), {})
    key = (fieldname, values)
    if key not in per:
        docs: set[int] = set()
        for v in values:
            docs.update(searcher.docs_for_query(Term(fieldname, v)))
        per[key] = docs
    return per[key]


def _filter_query(filters: dict):
    """Filter dict -> query.  Keys: town, region, size, status, cert(s),
    cpv (any prefix), near=(lat, lon, km) as a bounding box."""
    from marketplace.search import cpv as cpvmod
    from marketplace.search.documents import GRID_DECIMALS, normalise_cert

    subs = []
    for key in ("town", "region", "size", "status"):
        v = filters.get(key)
        if v:
            subs.append(Term(key, " ".join(str(v).lower().split())))
    certs = filters.get("certs") or filters.get("cert") or ()
    for c in [certs] if isinstance(certs, str) else certs:
        subs.append(Term("certs", normalise_cert(c)))
    code = filters.get("cpv")
    if code:
        digits = re.sub(r"\D", "", str(code))
        if len(digits) >= 2:
            subs.append(Term("cpv", cpvmod.prefix(digits.ljust(8, "0"))
                             if len(digits) == 8 else digits))
    near = filters.get("near")
    if near:
        try:
            lat, lon, km = (float(x) for x in near)
            # widened by half a grid step: the index holds lat/lon rounded to that grid
            half = 0.5 * 10 ** -GRID_DECIMALS
            dlat = km / 111.0 + half
            dlon = km / max(1e-6, 111.0 * abs(math.cos(math.radians(lat)))) + half
            subs.append(NumericRange("lat", lat - dlat, lat + dlat))
            subs.append(NumericRange("lon", lon - dlon, lon + dlon))
        except (TypeError, ValueError):
            pass
    return And(subs) if subs else None


def _combined_filter(searcher, kind, filters):
    allow = None
    if kind:
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        allow = allow_docs(searcher, "kind", kinds)
    fq = _filter_query(filters or {})
    if fq is not None:
        docs = set(searcher.docs_for_query(fq))
        allow = docs if allow is None else allow & docs
    return allow


# ---------------------------------------------------------------- search

class MarkFormatter(highlight.HtmlFormatter):
    """HTML-escaped fragments with matched words in bare ``<mark>`` tags."""

    def format_token(self, text, token, replace=False):
        word = highlight.htmlescape(highlight.get_text(text, token, replace), quote=False)
        return f"<mark>{word}</mark>"


def _within(a: str, b: str, maxdist: int) -> bool:
    """Levenshtein distance of ``a`` and ``b`` is at most ``maxdist``."""
    if abs(len(a) - len(b)) > maxdist:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > maxdist:
            return False
        prev = cur
    return prev[-1] <= maxdist


_SPELLERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _spelling_words(reader) -> dict[str, list[str]]:
    """The spelling field's words by first letter, read once per reader (a few thousand
    words; Whoosh's corrector walks the on-disk term table for every query instead, tens
    of milliseconds a word)."""
    words = _SPELLERS.get(reader)
    if words is None:
        words = {}
        for b in reader.lexicon(SPELLING_FIELD):
            w = b.decode("utf-8") if isinstance(b, bytes) else str(b)
            if w:
                words.setdefault(w[0], []).append(w)
        _SPELLERS[reader] = words
    return words


def _closest(reader, word: str, maxdist: int = 2) -> str | None:
    """The most frequent known word with the same first letter within ``maxdist`` edits
    (ties: alphabetical), as Whoosh's ``ReaderCorrector.suggest(prefix=1, limit=1)``."""
    best = None
    for cand in _spelling_words(reader).get(word[:1], ()):
        if cand != word and _within(word, cand, maxdist):
            key = (-(reader.frequency(SPELLING_FIELD, cand) or 1), cand)
            if best is None or key < best:
                best = key
    return best[1] if best else None


def suggest(searcher, text: str) -> str | None:
    """"Did you mean": each word unknown to the spelling field replaced by
    its most frequent known word with the same first letter within two edits;
    ``None`` if nothing changed."""
    words = _WORD.findall(CJK_RUN.sub(" ", clean_text(text)))
    if not words:
        return None
    reader = searcher.reader()
    changed = False
    out = []
    for w in words:
        lw = w.lower()
        if len(lw) >= 3 and not lw.isdigit() and not searcher.doc_frequency(SPELLING_FIELD, lw):
            sug = _closest(reader, lw)
            if sug:
                out.append(sug)
                changed = True
                continue
        out.append(lw)
    return " ".join(out) if changed else None


class _Page:
    """The hits of one page.  (Whoosh's ``search_page`` calls ``len(results)``,
    which counts every match; this does not.)"""

    def __init__(self, results, page, pagelen):
        self.results = results
        self.start = (page - 1) * pagelen
        self.end = page * pagelen

    def __iter__(self):
        n = self.results.scored_length()
        for i in range(self.start, min(self.end, n)):
            yield self.results[i]


#: An AND of plain words whose matches (known exactly from the bitsets) are at most this many
#: is scored directly at those documents (:func:`_direct_and`).
DIRECT_AND_MAX = 5000
#: A single plain word is scored directly from its posting blocks (:func:`_direct_term`)
#: when it occurs in at most this many documents.
DIRECT_TERM_MAX = 60_000


def _scored_postings(searcher, q, allow) -> list[tuple[object, int, list, list]]:
    """``[(segment reader, offset, document numbers, BM25F scores)]`` of a plain term's
    postings (flat arrays where the segment has them, else a block at a time), with the
    field lengths in memory and one comprehension per chunk.  Scores are matching's
    ``_bm25_collect`` formula (Whoosh's BM25F); documents outside ``allow`` are left out."""
    from marketplace.search.docsets import (
        doc_frequency,
        field_length_bytes,
        leaf_postings,
        leaves,
    )
    from marketplace.search.matching import bm25_term

    fname, text, boost = q.fieldname, q.text, float(q.boost)
    out = []
    if not doc_frequency(searcher, fname, text):
        return out
    num, per_len = bm25_term(searcher, fname, text)
    for leaf, offset in leaves(searcher.reader()):
        lens = field_length_bytes(leaf, fname)
        docs: list[int] = []
        scores: list[float] = []
        for ids, tfs in leaf_postings(leaf, fname, text, weights=True):
            scores += [boost * (num * tf / (tf + per_len[lens[d]]))
                       for d, tf in zip(ids, tfs, strict=True)]
            docs += [d + offset for d in ids] if offset else ids
        if allow is not None:
            keep = [i for i, d in enumerate(docs) if d in allow]
            docs, scores = [docs[i] for i in keep], [scores[i] for i in keep]
        out.append((leaf, offset, docs, scores))
    return out


def _best(docs: list[int], scores: list[float], limit: int) -> list[tuple[float, int]]:
    """``(score, document)`` of the ``limit`` best, by score then document number; only the
    documents reaching the ``limit``-th score are sorted with a key."""
    order = list(range(len(docs)))
    if len(order) > limit:
        floor = heapq.nlargest(limit, scores)[-1]
        order = [i for i, sc in enumerate(scores) if sc >= floor]
    order.sort(key=lambda i: (-scores[i], docs[i]))
    return [(scores[i], docs[i]) for i in order[:limit]]


def _direct_term(searcher, q, allow, page, pagelen):
    """The page of one plain word on the combined field, scored by
    :func:`_scored_postings`: Whoosh scores such a word posting by posting, reading each
    document's length from disk.  Same BM25F scores and order (score, then document
    number) as Whoosh's search; ``None`` for other queries or words in more than
    :data:`DIRECT_TERM_MAX` documents."""
    from whoosh.searching import Results

    from marketplace.search.docsets import doc_frequency

    if type(q) is not Term or q.fieldname != SEARCH_TEXT_FIELD or q.boost != 1.0:
        return None
    if doc_frequency(searcher, q.fieldname, q.text) > DIRECT_TERM_MAX:
        return None
    docs: list[int] = []
    scores: list[float] = []
    for _, _, d, sc in _scored_postings(searcher, q, allow):
        docs += d
        scores += sc
    return _Page(Results(searcher, q, _best(docs, scores, page * pagelen), docset=set(docs)),
                 page, pagelen)


def _direct_and(searcher, q, allow, page, pagelen):
    """The page of an AND of plain words on the combined field, scored only at the documents
    the bitsets say match: Whoosh's intersection walks the frequent words' posting lists with
    ``skip_to`` (every block header on the way, 40-90 ms at 100,000 documents) where a
    cached block index finds the few blocks needed.  The same BM25F sum and order (score,
    then document number) as Whoosh's search; ``None`` when the query is of another shape or
    matches more than :data:`DIRECT_AND_MAX` documents."""
    from whoosh.searching import Results

    from marketplace.search.matching import KeyTerm, _score_on

    if type(q) is not And or q.boost != 1.0 or not all(
            type(t) is Term and t.fieldname == SEARCH_TEXT_FIELD and t.boost == 1.0
            for t in q.subqueries):
        return None
    bits = _bits_or_none(searcher, q)
    if bits is None:
        return None
    if allow is not None:
        bits &= bits_of(allow, searcher.reader().doc_count_all())
    if bits.bit_count() > DIRECT_AND_MAX:
        return None
    docs: dict[int, list] = {}
    while bits:
        low = bits & -bits
        docs[low.bit_length() - 1] = [0.0, None, set()]
        bits ^= low
    _score_on(searcher, docs, [(KeyTerm(str(t.text), str(t.text), 1.0, 0), t)
                               for t in q.subqueries])
    top = heapq.nsmallest(page * pagelen, docs, key=lambda d: (-docs[d][0], d))
    return _Page(Results(searcher, q, [(docs[d][0], d) for d in top], docset=set(docs)),
                 page, pagelen)


#: An OR of plain words (the relaxed search) is scored directly when its words' document
#: frequencies add up to at most this many postings; beyond, Whoosh's block skipping wins.
DIRECT_OR_MAX = 60_000


def _direct_or(searcher, q, allow, page, pagelen):
    """The page of an OR of plain words on the combined field with a coordination bonus
    (``OrGroup.factory(scale)``, the relaxed search), summed from the words' scored
    postings (:func:`_scored_postings`) instead of Whoosh's tree of union matchers with a
    ``CoordMatcher`` (several Python calls per posting and word).  The same scores as
    Whoosh's: per segment, ``termcount`` is the number of the query's words the segment
    has, and a document's BM25F sum ``s`` with ``n`` of them becomes
    ``(s + (n - 1) / (termcount - scale) ** 2) * (termcount - 1) / termcount``.
    ``None`` for other queries or when the words are too frequent (:data:`DIRECT_OR_MAX`)."""
    from collections import Counter

    from whoosh.searching import Results

    from marketplace.search.docsets import doc_frequency

    if type(q) is not Or or q.boost != 1.0 or not q.scale or q.minmatch or len(
            q.subqueries) < 2 or not all(
            type(t) is Term and t.fieldname == SEARCH_TEXT_FIELD and t.boost == 1.0
            for t in q.subqueries):
        return None
    terms = list(dict.fromkeys((t.fieldname, t.text) for t in q.subqueries))
    if len(terms) != len(q.subqueries) or sum(
            doc_frequency(searcher, f, t) for f, t in terms) > DIRECT_OR_MAX:
        return None
    scale = float(q.scale)
    per_segment: dict[int, list] = {}  # offset -> [leaf, [(docs, scores) per word]]
    for t in q.subqueries:
        for leaf, offset, docs, scores in _scored_postings(searcher, t, allow):
            per_segment.setdefault(offset, [leaf, []])[1].append((docs, scores))
    all_docs: list[int] = []
    all_scores: list[float] = []
    for leaf, words in per_segment.values():
        if not any(docs for docs, _ in words):
            continue
        termcount = sum(1 for term in terms if term in leaf)
        words.sort(key=lambda w: -len(w[0]))  # the longest list goes into the dict in C
        sums = dict(zip(*words[0], strict=True))
        counts = Counter(words[0][0])
        for docs, scores in words[1:]:
            get = sums.get
            for d, sc in zip(docs, scores, strict=True):
                sums[d] = get(d, 0.0) + sc
            counts.update(docs)
        bonus = 1.0 / (termcount - scale) ** 2
        factor = (termcount - 1) / termcount
        all_docs += sums
        all_scores += [(sc + (counts[d] - 1) * bonus) * factor for d, sc in sums.items()]
    top = _best(all_docs, all_scores, page * pagelen)
    return _Page(Results(searcher, q, top, docset=set(all_docs)), page, pagelen)


def _run(searcher, q, allow, page, pagelen):
    # no terms=True: recording the matched terms of every match costs a Python call per
    # posting, and the highlighter finds the query's terms without it
    collector = searcher.collector(limit=page * pagelen, filter=allow)
    context = searcher.context(weighting=cached_lengths(searcher.weighting))
    searcher.search_with_collector(q, collector, context=context)
    return _Page(collector.results(), page, pagelen)


def _bits_or_none(searcher, q) -> int | None:
    try:
        return query_bits(searcher, q)
    except Exception:  # an unusual query tree: let the scored search decide
        return None


def count_by_kind(searcher, q, allow: set[int] | None = None) -> dict[str, int]:
    """Exact number of matches of ``q`` per kind (kinds without a match left out).

    Term/AND/OR queries are counted on cached bitsets (:mod:`docsets`): no scoring, no
    Python loop over postings once a term has been seen.  Other queries (phrases,
    prefixes, ranges...) enumerate their matches without scoring them.
    """
    bits = query_bits(searcher, q)
    if bits is None:
        size = searcher.reader().doc_count_all()
        bits = bits_of(searcher.docs_for_query(q), size)
    if allow is not None:
        bits &= bits_of(allow, searcher.reader().doc_count_all())
    out = {}
    for k in KINDS:
        n = (bits & named_bits(searcher, ("kind", k), allow_docs(searcher, "kind", (k,)))
             ).bit_count()
        if n:
            out[k] = n
    return out


_HIGHLIGHT_FIELDS = ("title", "summary", "body")


def _highlight_probes(q) -> frozenset[str] | None:
    """Lower-case starts of the query's stems, for a cheap test of whether a stored text can
    hold a highlight at all (the highlighter re-analyses the whole text to find out); ``None``
    when the query has words that are not plain terms (prefixes, wildcards...)."""
    probes = set()
    for node in q.leaves():
        if type(node) is Term:
            if node.fieldname in _HIGHLIGHT_FIELDS:
                t = str(node.text)
                probes.add(t[:max(3, len(t) - 1)])
        elif isinstance(node, Phrase):
            if node.fieldname in _HIGHLIGHT_FIELDS:
                probes.update(str(w)[:max(3, len(str(w)) - 1)] for w in node.words)
        elif getattr(node, "fieldname", None) in _HIGHLIGHT_FIELDS:
            return None
    return frozenset(probes)


def _may_contain(text, probes: frozenset[str]) -> bool:
    if not text:
        return False
    # the index analyzer folds accents and stems; a stem minus its last letter (Porter
    # rewrites endings: "happi" <- "happy") is a substring of every word it came from
    low = str(text).lower().translate(accent_map)
    return any(p in low for p in probes)


def _field_query(searcher, text: str, parsed, *, relaxed: bool, fallback: bool):
    """The shown query over the separate stored fields, for the highlighter (which looks
    for each field's own terms); ``None`` when the search did not use the combined field."""
    if not any(getattr(n, "fieldname", None) == SEARCH_TEXT_FIELD for n in parsed.leaves()):
        return None
    try:
        if fallback:
            return plain_query(text, combined=False)
        return parse_user_query(searcher.schema, text, conjunctive=not relaxed,
                                combined=False)[0]
    except Exception:  # highlights are optional; never fail the page for them
        return None


def search(searcher, q: str, kind=None, filters: dict | None = None, page: int = 1,
           pagelen: int = 20, *, counts: bool = True, highlights: bool = True,
           suggest_below: int = 3) -> SearchPage:
    """Run a search-box query.  Never raises for any ``q``.

    ``kind`` limits the hits to one kind (or a tuple of kinds); the per-kind
    counts are computed over the same filters and are exact.  ``filters``:
    see :func:`_filter_query`.  ``page`` is 1-based.
    """
    text = clean_text(q)
    page = max(1, int(page or 1))
    pagelen = max(1, min(100, int(pagelen or 20)))
    empty = SearchPage(text, "", [], page, pagelen, 0, True, {})
    try:
        parsed, notes = parse_user_query(searcher.schema, text)
    except Exception:  # belt and braces: parse_user_query should not raise
        parsed, notes = plain_query(text), ["fallback"]
    if parsed is None:
        return empty
    try:
        allow = _combined_filter(searcher, kind, filters)
        count_allow = _combined_filter(searcher, None, filters)
    except Exception:
        allow = count_allow = None
    relaxed = fallback = False
    try:
        multi = len(parsed.all_terms()) > 1
        # the bitsets say at once when every word is known but never together, so the
        # scored AND search (the slowest kind: it skips through every word's postings)
        # is not run just to find nothing
        known_empty = multi and _bits_or_none(searcher, parsed) == 0
        res = None
        if not known_empty:
            res = (_direct_and(searcher, parsed, allow, page, pagelen) if multi
                   else _direct_term(searcher, parsed, allow, page, pagelen))
            if res is None:
                res = _run(searcher, parsed, allow, page, pagelen)
        if multi and (res is None or res.results.scored_length() == 0):
            relaxed_q, _ = parse_user_query(searcher.schema, text, conjunctive=False)
            if relaxed_q is not None:
                res2 = (_direct_or(searcher, relaxed_q, allow, page, pagelen)
                        or _run(searcher, relaxed_q, allow, page, pagelen))
                if res2.results.scored_length():
                    parsed, res, relaxed = relaxed_q, res2, True
        if res is None:
            res = _run(searcher, parsed, allow, page, pagelen)
    except QueryError:
        parsed, fallback = plain_query(text), True
        if parsed is None:
            return empty
        res = _run(searcher, parsed, allow, page, pagelen)
    except Exception:
        return SearchPage(text, "", [], page, pagelen, 0, True, {}, fallback=True,
                          notes=["error"])
    results = res.results
    counts_by_kind: dict[str, int] = {}
    if counts:
        try:
            counts_by_kind = count_by_kind(searcher, parsed, count_allow)
        except Exception:
            counts_by_kind = {}
    probes = None
    if highlights:
        results.highlighter = FastHighlighter(
            fragmenter=highlight.ContextFragmenter(maxchars=200, surround=40),
            formatter=MarkFormatter())
        hl_q = _field_query(searcher, text, parsed, relaxed=relaxed, fallback=fallback)
        if hl_q is not None:
            results.q = hl_q  # scoring is done; the highlighter only reads its terms
            probes = _highlight_probes(hl_q)
    hits = []
    for hit in res:
        f = hit.fields()
        hl = {}
        if highlights:
            for fname in ("title", "summary", "body"):
                if probes is not None and not _may_contain(f.get(fname), probes):
                    continue
                try:
                    frag = hit.highlights(fname, top=2)
                except Exception:
                    frag = ""
                if frag:
                    hl[fname] = frag
        hits.append(Hit(f.get("doc_id", ""), f.get("kind", ""), f.get("title", ""),
                        float(hit.score or 0.0), f.get("town", ""), f.get("region", ""), hl))
    if kind is None and counts_by_kind:
        total, exact = sum(counts_by_kind.values()), True
    elif kind is not None and counts_by_kind:
        kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        total, exact = sum(counts_by_kind.get(k, 0) for k in kinds), True
    else:
        exact = results.has_exact_length()
        total = results.scored_length() if exact else results.estimated_length()
    did_you_mean = None
    if total < suggest_below:
        try:
            did_you_mean = suggest(searcher, text)
        except Exception:
            did_you_mean = None
    return SearchPage(text, str(parsed), hits, page, pagelen, int(total), exact,
                      counts_by_kind, did_you_mean, relaxed, fallback or "fallback" in notes,
                      notes)
