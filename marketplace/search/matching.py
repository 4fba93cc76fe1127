"""THE scorer: tender -> organisations/alliances, and organisation -> tenders.

Both directions use the same components and the same formula (documented in
``docs/matching.md``)::

    score = W_TEXT  * text      (BM25F of the tender's key terms, / best hit)
          + W_CPV   * cpv       (CPV overlap along the hierarchy, 0..1)
          + W_CERT  * cert      (share of required certifications covered)
          + W_GEO   * geo       (inside the service radius 0..1, outside < 0)
          + W_TRACK * track     (confirmed projects, log-scaled, 0..1)

* **text**: key terms of the tender (title counted twice, description once,
  required capabilities twice) chosen by tf-idf against the index's own
  document frequencies (at most ``key_terms`` terms; terms unknown to the
  index or in more than ``max_df_share`` of documents are dropped); one OR
  query over the boosted fields (``schema.TEXT_FIELD_BOOSTS``), BM25F.
* **cpv**: a weight ``P[prefix]`` per division (2 digits), group (3) and class
  (4) of the tender.  Known codes give weight 1 to each of their prefixes.
  A tender without codes gets *inferred* weights: a mix of the codes of the
  best text matches in the index (pseudo-relevance feedback) and the codes
  whose CPV labels match the text (:mod:`cpv_infer`).  A firm code's value is
  ``(4*P[class] + 2*P[group] + 1*P[division]) / 7`` -- the expected graded
  gain of the match (class 7, group 3, division 1), scaled to 1 -- and the
  firm's score is the best of its codes.  So with known codes a class match
  is worth 1, a group match 3/7, a division match 1/7.
* **cert**: covered / required certifications (1 when none is required).
* **geo**: haversine distance from the tender's place to the firm's nearest
  place; inside the service radius ``1 - 0.5 * d / radius``; outside it
  ``-min(1, (d - radius) / max(radius, 25 km))``; unknown places 0.
* **track**: ``min(1, log(1 + n) / log(11))`` for n confirmed projects.

Every :class:`Match` carries :class:`Reasons`: the matched key terms (in the
tender's own words), the overlapping CPV codes with the level of overlap
(class > group > division) and whether the tender's codes were inferred, the
certifications covered and missing, the distance and whether it is within
the firm's radius, and the track record.

Candidates come from two capped searches (so cost does not grow with the
index): the key-term OR query (``candidate_limit`` best) and a CPV term
query on the tender's class/group prefixes.  Everything else is computed on
those candidates from stored fields.

Public API: :func:`match_tender`, :func:`tenders_for`, :class:`Match`,
:class:`Reasons`, :class:`Weights`, :func:`haversine_km`,
:func:`tender_profile` (key terms and CPV weights, for inspection).

A searcher is not thread-safe: pass one per thread.
"""

from __future__ import annotations

import heapq
import math
import weakref
from collections import Counter, OrderedDict, defaultdict
from dataclasses import asdict, dataclass, field

from whoosh import scoring
from whoosh.query import Term
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from marketplace.search import cpv, cpv_infer, docsets
from marketplace.search.analysis import english_analyzer
from marketplace.search.documents import normalise_cert, normalise_requirements
from marketplace.search.schema import TEXT_FIELD_BOOSTS

LEVEL_VALUE = {4: 4.0, 3: 2.0, 2: 1.0}
LEVEL_NAME = {4: "class", 3: "group", 2: "division"}
LEVEL_NORM = sum(LEVEL_VALUE.values())
#: English function words, left out of key terms (the index analyzer keeps all but a few
#: dozen stop words).  Generic, not tuned to any data set: they say nothing about a trade,
#: yet a rare one ("than", "whilst") gets a high idf and crowds real key terms out.
FUNCTION_WORDS = frozenset("""
about above across after again against all almost along already also although always am
among amongst another any anyone anything around away because been before being below
between both but cannot could did does doing done down during each either else enough etc
even ever every few further had has having he her here hers herself him himself his how
however i.e e.g into its itself just least less like many me more most much must my myself
neither never no nor now off often once one only other others otherwise ought our ours
ourselves out over own per perhaps rather same several shall she should since so some
something such than thanks thence there thereby therefore these they thing things those
though through throughout thus together too toward towards under until unto up upon very
via was were what whatever whence where whereas whether which while whilst who whoever
whole whom whose why within without would yes yet yours yourself yourselves
""".split())  # noqa: SIM905
#: Whoosh block-max skipping ("optimize"): with many OR-ed terms its bookkeeping
#: costs more than it saves (measured), so it is off.
OPTIMIZE = False


@dataclass(frozen=True)
class Weights:
    """Weights of the score components and knobs of the candidate search.

    Defaults were tuned on the uk_dev and ca_dev development sets only.
    """

    # score components (see the module docstring and docs/matching.md)
    text: float = 0.5
    cpv: float = 1.0
    cert: float = 0.1
    geo: float = 0.1
    track: float = 0.05
    # text: key terms and BM25F
    key_terms: int = 10
    # 1: English function words are never key terms.  Off: on uk_dev it lowered coverage@10
    # (0.699 -> 0.662) for no nDCG gain; kept as a knob for other data.
    function_words: int = 0
    stop_df_share: float = 0.5  # terms in more documents than this share are ignored
    rare_df_share: float = 0.02  # terms in at most max(rare_df_abs, share * N)
    rare_df_abs: int = 500  # documents find candidates; the others are only scored
    #                          on those candidates (cheap at any index size)
    title_weight: float = 2.0  # tender title words count twice in key-term selection
    title_boost: float = 0.0  # firm names are weak evidence of what a firm does
    query_idf_power: float = 0.0  # 0: query term boost from tf only (BM25 has idf)
    bm25_b: float = 0.3
    bm25_k1: float = 1.2
    # pseudo-relevance feedback: terms common in the best hits are added
    expand_terms: int = 6
    expand_docs: int = 5
    expand_weight: float = 0.4
    # CPV inference for tenders without codes
    prf_docs: int = 10
    prf_share: float = 0.35  # share of the index's own evidence vs the label vocabulary
    label_codes: int = 8
    min_prefix_weight: float = 0.15  # CPV prefixes used to fetch candidates
    # division coverage of the top places
    diversity: float = 0.8  # bonus x weight of the tender divisions a firm adds
    diversity_depth: int = 10  # places re-ranked for coverage
    novelty: float = 0.1  # bonus for any new division...
    novelty_max_share: float = 0.3  # ...when no division has more than this share


DEFAULT_WEIGHTS = Weights()


@dataclass
class CpvOverlap:
    code: str  # the firm's (or tender's, in tenders_for) 8-digit code
    prefix: str  # deepest shared prefix
    level: str  # "class" | "group" | "division"
    label: str  # label of the shared prefix
    weight: float  # the tender's weight on that prefix (1.0 when known)


@dataclass
class Reasons:
    terms: list[str] = field(default_factory=list)
    cpv: list[CpvOverlap] = field(default_factory=list)
    cpv_inferred: bool = False
    certifications_covered: list[str] = field(default_factory=list)
    certifications_missing: list[str] = field(default_factory=list)
    distance_km: float | None = None
    within_radius: bool | None = None
    radius_km: float | None = None
    track_record: int = 0
    divisions: list[str] = field(default_factory=list)  # the firm's CPV divisions

    @property
    def best_cpv_level(self) -> str | None:
        return self.cpv[0].level if self.cpv else None


@dataclass
class Match:
    doc_id: str
    kind: str
    title: str
    score: float
    components: dict[str, float]
    reasons: Reasons

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class KeyTerm:
    term: str  # stemmed index term
    word: str  # first surface form in the source text
    weight: float
    df: int


@dataclass
class Profile:
    """What one side of a match brings: key terms, CPV weights, certs, place."""

    key_terms: list[KeyTerm]
    cpv_weights: dict[str, float]
    cpv_inferred: bool
    certs_required: list[str]
    place: tuple[float, float] | None


# ---------------------------------------------------------------- helpers

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _place(d: dict) -> tuple[float, float] | None:
    lat, lon = _num(d.get("lat")), _num(d.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


_ANALYZER = None


def _surface_terms(text: str) -> list[tuple[str, str]]:
    """``[(stem, original word)]`` for a text, via the index analyzer."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = english_analyzer()
    return [(t.text, t.original) for t in _ANALYZER(text or "", keeporiginal=True)]


_ALLOW_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_STORED_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: stored-field dicts kept per reader (about 1-2 KB each)
STORED_CACHE_DOCS = 20_000
_LENGTH_OF_BYTE = [byte_to_length(b) for b in range(256)]


def _allow(searcher, field_values: tuple[tuple[str, tuple[str, ...]], ...]):
    """Docnum set for ``field in values`` filters, cached per reader."""
    per = _ALLOW_CACHE.setdefault(searcher.reader(), {})
    if field_values not in per:
        allowed = None
        for fname, values in field_values:
            docs = set()
            for v in values:
                docs.update(searcher.docs_for_query(Term(fname, v)))
            allowed = docs if allowed is None else allowed & docs
        per[field_values] = allowed if allowed is not None else set()
    return per[field_values]


def _df(searcher, term: str) -> int:
    return max(docsets.doc_frequency(searcher, f, term) for f in TEXT_FIELD_BOOSTS)


# ---------------------------------------------------------------- profiles

def _max_df(searcher, weights: Weights) -> int:
    return int(weights.stop_df_share * searcher.doc_count())


def _rare_df(searcher, weights: Weights) -> int:
    return int(max(weights.rare_df_abs, weights.rare_df_share * searcher.doc_count()))


def key_terms(searcher, parts: list[tuple[str, float]], *, limit: int = 10,
              max_df: int | None = None, skip: frozenset[str] = frozenset()
              ) -> list[KeyTerm]:
    """Select key terms of weighted text parts by tf-idf against the index.

    The weight of a term is ``(1 + log(tf)) * idf`` where tf sums the part
    weights of its occurrences and idf comes from the index's own document
    frequencies (the most frequent field).  Unknown terms and terms in more
    than ``max_df`` documents are not used (they would cost much to score
    and say little).
    """
    tf: Counter = Counter()
    word: dict[str, str] = {}
    for text, w in parts:
        for stem, orig in _surface_terms(text):
            if stem.isdigit() or len(stem) < 2 or orig.lower() in skip:
                continue
            tf[stem] += w
            word.setdefault(stem, orig)
    n = max(1, searcher.doc_count())
    out = []
    for stem, f in tf.items():
        df = _df(searcher, stem)
        if df == 0 or (max_df is not None and df > max_df):
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        out.append(KeyTerm(stem, word[stem].lower(), (1 + math.log(max(f, 1.0))) * idf, df))
    out.sort(key=lambda k: (-k.weight, k.term))
    return out[:limit]


def _skip_words(weights: Weights) -> frozenset[str]:
    return FUNCTION_WORDS if weights.function_words else frozenset()


def _field_boosts(weights: Weights) -> dict[str, float]:
    boosts = dict(TEXT_FIELD_BOOSTS)
    boosts["title"] = weights.title_boost
    return boosts


def _text_query(terms: list[KeyTerm], searcher, idf_power: float = 0.0,
                boosts: dict[str, float] | None = None, scale: float = 1.0
                ) -> list[tuple[KeyTerm, Term]]:
    """One boosted Term per key term and text field where the term occurs.

    Query weights are ``1 + log(tf)`` (times ``idf ** idf_power``) scaled to
    the best key term; BM25F supplies the idf."""
    if not terms:
        return []
    n = max(1, searcher.doc_count())

    def qweight(k: KeyTerm) -> float:
        idf = math.log(1 + (n - k.df + 0.5) / (k.df + 0.5))
        return k.weight / idf * idf ** idf_power

    top = max(qweight(k) for k in terms) or 1.0
    subs = []
    for k in terms:
        qw = scale * qweight(k) / top
        for fname, fb in (boosts or TEXT_FIELD_BOOSTS).items():
            if fb and docsets.doc_frequency(searcher, fname, k.term):
                subs.append((k, Term(fname, k.term, boost=fb * qw)))
    return subs


def bm25_term(searcher, fname: str, text) -> tuple[float, list[float]]:
    """``(num, per_len)`` of a term under the searcher's BM25F: a posting with frequency
    ``tf`` in a document whose length byte is ``b`` scores ``num * tf / (tf + per_len[b])``
    (times the query boost)."""
    w = searcher.weighting
    b_, k1 = float(getattr(w, "B", 0.75)), float(getattr(w, "K1", 1.2))
    avgfl = searcher.avg_field_length(fname) or 1
    base = k1 * (1 - b_)
    return (searcher.idf(fname, text) * (k1 + 1),
            [base + k1 * b_ * fl / avgfl for fl in _LENGTH_OF_BYTE])


class Collected:
    """BM25F sums per document (``scores``) and, on demand, the words behind each sum."""

    __slots__ = ("_docs", "_sets", "scores")

    def __init__(self) -> None:
        self.scores: dict[int, float] = {}
        self._docs: dict[str, list] = {}  # word -> its lists of document numbers
        self._sets: dict[str, set[int]] = {}

    def words(self, docnum: int) -> set[str]:
        """The words (of the ``subs`` given to :func:`_bm25_collect`) ``docnum`` matched."""
        if len(self._sets) != len(self._docs):
            self._sets = {w: set().union(*lists) for w, lists in self._docs.items()}
        return {w for w, docs in self._sets.items() if docnum in docs}


def _bm25_collect(searcher, subs: list[tuple[str, object]], allow,
                  memo: dict | None = None) -> Collected:
    """BM25F over the postings of ``subs`` (``(word, Term)`` pairs), summed per document.

    Returns the sums of the documents in ``allow`` (all when ``None``) and their matched
    words.  The same sum as Whoosh's OR query under ``scoring.BM25F`` (``boost * idf * tf *
    (K1 + 1) / (tf + K1 * (1 - B + B * length / average length))``), but computed a posting
    chunk at a time: scores in one comprehension, the first term's into the dict in C, the
    others added in ``subs`` order (so every sum is added up in the same order as before).
    Whoosh walks a tree of union matchers with several Python calls per posting and per
    term, which at 100,000 documents cost seconds per tender.  Only the short posting lists
    of rare terms should be given here.  ``memo`` (one per tender) keeps the decoded
    postings for the search after query expansion, which repeats the first search's terms.
    """
    out = Collected()
    scores = out.scores
    get = scores.get
    parts = docsets.leaves(searcher.reader())
    if allow is not None and len(allow) >= searcher.doc_count_all():
        allow = None  # it holds every document number: nothing to filter
    for word, q in subs:
        fname, text, boost = q.fieldname, q.text, float(q.boost)
        if not docsets.doc_frequency(searcher, fname, text):
            continue
        num, per_len = bm25_term(searcher, fname, text)
        first = not scores  # a term's own postings never repeat a document
        for leaf, offset in parts:
            lens = docsets.field_length_bytes(leaf, fname)
            chunks = None if memo is None else memo.get(("post", id(leaf), fname, text))
            if chunks is None:
                chunks = list(docsets.leaf_postings(leaf, fname, text, weights=True))
                if memo is not None:
                    memo[("post", id(leaf), fname, text)] = chunks
            for ids, tfs in chunks:
                if allow is not None:
                    keep = [i for i, d in enumerate(ids) if d + offset in allow]
                    ids, tfs = [ids[i] for i in keep], [tfs[i] for i in keep]
                scored = [boost * (num * tf / (tf + per_len[lens[d]]))
                          for d, tf in zip(ids, tfs, strict=True)]
                gids = [d + offset for d in ids] if offset else list(ids)
                if first:
                    scores.update(zip(gids, scored, strict=True))
                else:
                    for g, sc in zip(gids, scored, strict=True):
                        scores[g] = get(g, 0.0) + sc
                out._docs.setdefault(word, []).append(gids)
    return out


def _top(scores: dict[int, float], limit: int) -> list[int]:
    """Document numbers of the ``limit`` best sums, best first (ties: lower number).

    The ``limit``-th best score is found among the bare floats first, so that only the
    documents reaching it are sorted with a key (a key call per document is most of the
    cost when tens of thousands of documents match)."""
    if limit <= 0:
        return []
    if len(scores) > limit:
        floor = heapq.nlargest(limit, scores.values())[-1]
        docs = [d for d, sc in scores.items() if sc >= floor]
    else:
        docs = list(scores)
    docs.sort(key=lambda d: (-scores[d], d))
    return docs[:limit]


def _text_search(searcher, subs: list[tuple[KeyTerm, Term]], allow, limit: int,
                 rare_df: int, memo: dict | None = None
                 ) -> list[tuple[int, float, dict, set[str]]]:
    """Two-tier BM25F search: rare terms find the candidates, frequent terms
    are scored on those candidates only.

    Returns ``[(docnum, score, stored fields, matched words)]`` best first.
    A posting list of a frequent term can hold most of the index; walking
    it costs time in proportion to the index size, so it is only probed at
    the candidates' document numbers (``skip_to``).  When no rare term is
    left, the two least frequent terms find the candidates.
    """
    rare = [(k, q) for k, q in subs if k.df <= rare_df]
    freq = [(k, q) for k, q in subs if k.df > rare_df]
    if not rare and freq:
        keep = {k.term for k in sorted({k.term: k for k, _ in freq}.values(),
                                       key=lambda k: k.df)[:2]}
        rare = [(k, q) for k, q in freq if k.term in keep]
        freq = [(k, q) for k, q in freq if k.term not in keep]
    if not rare:
        return []
    acc = _bm25_collect(searcher, [(k.word, q) for k, q in rare], allow, memo)
    docs: dict[int, list] = {}
    for d in _top(acc.scores, limit):
        docs[d] = [acc.scores[d], _stored(searcher, d), acc.words(d)]
    if freq and docs:
        _score_on(searcher, docs, freq, memo)
    out = [(d, v[0], v[1], v[2]) for d, v in docs.items()]
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def _stored(searcher, docnum: int) -> dict:
    """Stored fields of a document, cached per reader (a tender's candidates come back in
    the second, expanded search and in the next tender's)."""
    per = _STORED_CACHE.get(searcher.reader())
    if per is None:
        per = _STORED_CACHE[searcher.reader()] = OrderedDict()
    f = per.get(docnum)
    if f is None:
        f = per[docnum] = searcher.stored_fields(docnum)
        if len(per) > STORED_CACHE_DOCS:
            per.popitem(last=False)
    else:
        per.move_to_end(docnum)
    return f


def _score_on(searcher, docs: dict[int, list], subs: list[tuple[KeyTerm, Term]],
              memo: dict | None = None) -> None:
    """Add the BM25F scores of ``subs`` for the documents in ``docs`` (the same formula
    as :func:`_bm25_collect`), probing each term's postings at those documents only
    (``memo``: term frequencies already probed for this tender)."""
    w = searcher.weighting
    b_, k1 = float(getattr(w, "B", 0.75)), float(getattr(w, "K1", 1.2))
    cand = sorted(docs)
    for leaf, offset in docsets.leaves(searcher.reader()):
        end = offset + leaf.doc_count_all()
        local = [d - offset for d in cand if offset <= d < end]
        if not local:
            continue
        for k, q in subs:
            fname, text, boost = q.fieldname, q.text, float(q.boost)
            if not docsets.doc_frequency(searcher, fname, text):
                continue
            if memo is None:
                found = docsets.probe(leaf, fname, text, local)
            else:
                seen, tfs = memo.setdefault(("probe", id(leaf), fname, text), (set(), {}))
                new = [d for d in local if d not in seen]
                if new:
                    tfs.update(docsets.probe(leaf, fname, text, new))
                    seen.update(new)
                found = {d: tfs[d] for d in local if d in tfs}
            if not found:
                continue
            idf = searcher.idf(fname, text)
            avgfl = searcher.avg_field_length(fname) or 1
            num = idf * (k1 + 1)
            base = k1 * (1 - b_)
            lens = docsets.field_length_bytes(leaf, fname)
            for d, tf in found.items():
                fl = _LENGTH_OF_BYTE[lens[d]]
                entry = docs[d + offset]
                entry[0] += boost * (num * tf / (tf + (base + k1 * b_ * fl / avgfl)))
                entry[2].add(k.word)


def _expansion_terms(searcher, res, original: list[KeyTerm], weights: Weights
                     ) -> list[KeyTerm]:
    # res: [(docnum, score, fields, words)] best first
    """Pseudo-relevance feedback: terms common in the best hits' text."""
    have = {k.term for k in original}
    n = max(1, searcher.doc_count())
    acc: dict[str, float] = defaultdict(float)
    word: dict[str, str] = {}
    top = None
    for i, (_, score, f, _) in enumerate(res):
        if i >= weights.expand_docs:
            break
        top = top or score or 1.0
        text = " ".join(str(f.get(k) or "") for k in ("summary", "body", "capabilities"))
        skip = _skip_words(weights)
        seen = set()
        for stem, orig in _surface_terms(text):
            if stem in have or stem in seen or stem.isdigit() or orig.lower() in skip:
                continue
            seen.add(stem)
            acc[stem] += score / top
            word.setdefault(stem, orig.lower())
    out = []
    for stem, w in acc.items():
        if w < 2 * min(1.0, weights.expand_docs / 4) and w < 2:
            continue
        df = _df(searcher, stem)
        if not df or df > _max_df(searcher, weights):
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        out.append(KeyTerm(stem, word[stem], w * idf, df))
    out.sort(key=lambda k: (-k.weight, k.term))
    return out[: weights.expand_terms]


def _expansion_query(extra: list[KeyTerm], searcher, weights: Weights
                     ) -> list[tuple[KeyTerm, Term]]:
    return _text_query(extra, searcher, weights.query_idf_power, _field_boosts(weights),
                       scale=weights.expand_weight)


def _known_weights(codes) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in codes or ():
        c8 = cpv.normalise(c)
        if not c8:
            continue
        p = cpv.prefix(c8)
        for n in (2, 3, 4):
            if len(p) >= n:
                out[p[:n]] = 1.0
    return out


def _prf_weights(searcher, hits: list[tuple[dict, float]]) -> dict[str, float]:
    """CPV prefix weights from the codes of the best text matches."""
    out: dict[str, float] = defaultdict(float)
    total = 0.0
    for fields, score in hits:
        codes = fields.get("cpv_codes") or []
        if not codes:
            continue
        total += score
        prefixes = set()
        for c in codes:
            p = cpv.prefix(c)
            prefixes.update(p[:n] for n in (2, 3, 4) if len(p) >= n)
        for p in prefixes:
            out[p] += score
    if not total:
        return {}
    return {p: v / total for p, v in out.items()}


def _mix(a: dict[str, float], b: dict[str, float], share_a: float) -> dict[str, float]:
    if not a:
        return dict(b)
    if not b:
        return dict(a)
    keys = set(a) | set(b)
    return {k: share_a * a.get(k, 0.0) + (1 - share_a) * b.get(k, 0.0) for k in keys}


# ---------------------------------------------------------------- scoring

def cpv_component(weights: dict[str, float], codes: list[str]
                  ) -> tuple[float, list[CpvOverlap]]:
    """Best expected-gain value over ``codes`` and the overlaps behind it."""
    best = 0.0
    overlaps = []
    for c in codes or ():
        p = cpv.prefix(c)
        val = 0.0
        deepest = None
        for n in (2, 3, 4):
            if len(p) >= n and weights.get(p[:n]):
                val += LEVEL_VALUE[n] * weights[p[:n]]
                deepest = n
        if deepest is None:
            continue
        val /= LEVEL_NORM
        best = max(best, val)
        shared = p[:deepest]
        overlaps.append(CpvOverlap(
            code=c, prefix=shared, level=LEVEL_NAME[deepest],
            label=cpv.label(shared.ljust(8, "0")), weight=round(weights[shared], 3),
        ))
    overlaps.sort(key=lambda o: (-len(o.prefix), -o.weight, o.code))
    return best, overlaps


def geo_component(place: tuple[float, float] | None, firm_places
                  ) -> tuple[float, float | None, bool | None, float | None]:
    """``(value, distance_km, within_radius, radius_km)`` for the best place."""
    if not place or not firm_places:
        return 0.0, None, None, None
    best = None
    for p in firm_places:
        try:
            lat, lon, radius = float(p[0]), float(p[1]), float(p[2])
        except (TypeError, ValueError, IndexError):
            continue
        d = haversine_km(place[0], place[1], lat, lon)
        if d <= radius:
            val = 1.0 - 0.5 * d / radius if radius > 0 else 1.0
        else:
            val = -min(1.0, (d - radius) / max(radius, 25.0))
        if best is None or val > best[0]:
            best = (val, d, d <= radius, radius)
    if best is None:
        return 0.0, None, None, None
    return best[0], round(best[1], 1), best[2], best[3]


def track_component(n: int) -> float:
    return min(1.0, math.log1p(max(0, n)) / math.log(11))


def cert_component(required: list[str], have) -> tuple[float, list[str], list[str]]:
    if not required:
        return 1.0, [], []
    have = set(have or ())
    covered = [c for c in required if c in have]
    missing = [c for c in required if c not in have]
    return len(covered) / len(required), covered, missing


# ---------------------------------------------------------------- forward

def tender_profile(searcher, tender: dict, *, weights: Weights = DEFAULT_WEIGHTS,
                   kinds=("organisation", "alliance")) -> tuple[Profile, object]:
    """Key terms and CPV weights of a tender (inferred when it has no codes).

    Returns the profile and the text query (or ``None``)."""
    reqs = normalise_requirements(tender.get("requirements"))
    caps = " ; ".join(r["value"] for r in reqs if r["type"] == "capability")
    parts = [(str(tender.get("title") or ""), weights.title_weight),
             (str(tender.get("description") or ""), 1.0),
             (caps, weights.title_weight)]
    terms = key_terms(searcher, parts, limit=weights.key_terms,
                      max_df=_max_df(searcher, weights), skip=_skip_words(weights))
    codes = list(tender.get("cpv_codes") or ()) + [r["value"] for r in reqs if r["type"] == "cpv"]
    known = _known_weights(codes)
    certs = [normalise_cert(r["value"]) for r in reqs if r["type"] == "certification"]
    profile = Profile(terms, known, not known, certs, _place(tender))
    return profile, _text_query(terms, searcher, weights.query_idf_power,
                                _field_boosts(weights))


def _scoring_searcher(searcher, weights: Weights):
    """A searcher on the same reader with this scorer's BM25F parameters."""
    return Searcher(searcher.reader(), weighting=scoring.BM25F(B=weights.bm25_b,
                    K1=weights.bm25_k1), closereader=False)


def match_tender(searcher, tender: dict, *, kinds=("organisation", "alliance"),
                 top: int = 20, candidate_limit: int = 200,
                 weights: Weights = DEFAULT_WEIGHTS) -> list[Match]:
    """Rank organisations and alliances for a tender, best first.

    ``tender`` is a plain dict (title, description, cpv_codes, lat, lon,
    requirements...).  Returns at most ``top`` :class:`Match` objects.
    """
    searcher = _scoring_searcher(searcher, weights)
    kinds = tuple(kinds)
    allow = _allow(searcher, (("kind", kinds),))
    profile, text_q = tender_profile(searcher, tender, weights=weights, kinds=kinds)

    cands: dict[int, dict] = {}
    text_scores: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    rare_df = _rare_df(searcher, weights)
    memo: dict = {}  # postings and probes shared by the searches before and after expansion
    if text_q:
        res = _text_search(searcher, text_q, allow, candidate_limit, rare_df, memo)
        if weights.expand_terms and res:
            extra = _expansion_terms(searcher, res, profile.key_terms, weights)
            if extra:
                profile.key_terms.extend(extra)
                text_q = text_q + _expansion_query(extra, searcher, weights)
                res = _text_search(searcher, text_q, allow, candidate_limit, rare_df, memo)
        hits = []
        for docnum, score, f, words in res:
            text_scores[docnum] = score
            cands[docnum] = f
            matched[docnum] = sorted(words)
            if len(hits) < weights.prf_docs:
                hits.append((f, score))
        if profile.cpv_inferred:
            prf = _prf_weights(searcher, hits)
            label = cpv_infer.guess({k.term: k.weight for k in profile.key_terms},
                                    top=weights.label_codes)
            profile.cpv_weights = _mix(prf, label, weights.prf_share)
    elif profile.cpv_inferred:
        profile.cpv_weights = {}

    cpv_terms = [Term("cpv", p, boost=w) for p, w in profile.cpv_weights.items()
                 if len(p) >= 3 and w >= weights.min_prefix_weight]
    if cpv_terms:
        acc = _bm25_collect(searcher, [("", q) for q in cpv_terms], allow)
        for d in _top(acc.scores, candidate_limit):
            if d not in cands:
                cands[d] = _stored(searcher, d)

    best_text = max(text_scores.values(), default=0.0) or 1.0
    out = []
    for docnum, f in cands.items():
        text = text_scores.get(docnum, 0.0) / best_text
        cpv_v, overlaps = cpv_component(profile.cpv_weights, f.get("cpv_codes") or [])
        cert_v, covered, missing = cert_component(profile.certs_required, f.get("certs"))
        geo_v, dist, within, radius = geo_component(profile.place, f.get("places"))
        track_n = int(f.get("track_record") or 0)
        track_v = track_component(track_n)
        comps = {"text": round(text, 4), "cpv": round(cpv_v, 4), "cert": round(cert_v, 4),
                 "geo": round(geo_v, 4), "track": round(track_v, 4)}
        score = (weights.text * text + weights.cpv * cpv_v + weights.cert * cert_v
                 + weights.geo * geo_v + weights.track * track_v)
        reasons = Reasons(
            terms=matched.get(docnum, []), cpv=overlaps, cpv_inferred=profile.cpv_inferred,
            certifications_covered=covered, certifications_missing=missing,
            distance_km=dist, within_radius=within, radius_km=radius, track_record=track_n,
            divisions=sorted({c[:2] for c in f.get("cpv_codes") or []}),
        )
        out.append(Match(f["doc_id"], f.get("kind", ""), f.get("title", ""),
                         round(score, 6), comps, reasons))
    out.sort(key=lambda m: (-m.score, m.doc_id))
    if weights.diversity > 0:
        divs = [w for p, w in profile.cpv_weights.items() if len(p) == 2]
        spread = bool(divs) and max(divs) <= weights.novelty_max_share * sum(divs)
        out = diversify(out, profile.cpv_weights, weights.diversity, weights.diversity_depth,
                        weights.novelty if spread else 0.0)
    return out[:top]


def _divisions(m: Match) -> set[str]:
    return {o.code[:2] for o in m.reasons.cpv} | set(m.reasons.divisions)


def diversify(ranked: list[Match], cpv_weights: dict[str, float], bonus: float,
              depth: int, novelty: float = 0.0) -> list[Match]:
    """Greedy re-ranking of the first ``depth`` places for division coverage.

    At each place the candidate maximising ``score + bonus * (weight of the
    tender's CPV divisions it adds to those already covered)`` is taken, so a
    tender spanning several divisions (works + services, say) gets firms for
    each part near the top.  Scores themselves are not changed.
    """
    div_w = {p: w for p, w in cpv_weights.items() if len(p) == 2}
    if len(div_w) < 2 and not novelty:
        return ranked
    pool = ranked[: depth * 5]
    rest = ranked[depth * 5:]
    chosen: list[Match] = []
    covered: set[str] = set()
    def gain(m: Match, covered: set[str]) -> float:
        new = _divisions(m) - covered
        return (m.score + bonus * sum(div_w.get(d, 0.0) for d in new)
                + (novelty if new and covered else 0.0))

    while pool and len(chosen) < depth:
        best = max(pool, key=lambda m: (gain(m, covered), m.score))
        pool.remove(best)
        chosen.append(best)
        covered |= _divisions(best)
    return chosen + sorted(pool, key=lambda m: (-m.score, m.doc_id)) + rest


def _s(t) -> str:
    return t.decode("utf-8") if isinstance(t, bytes) else str(t)


# ---------------------------------------------------------------- reverse

def organisation_profile(searcher, org: dict, *, weights: Weights = DEFAULT_WEIGHTS
                         ) -> tuple[Profile, object]:
    """Key terms and CPV weights of an organisation (for :func:`tenders_for`)."""
    caps = " ; ".join(str(c) for c in org.get("capabilities") or ())
    labels = " ; ".join(cpv.labels_for(org.get("cpv_codes") or ())[:12])
    parts = [(str(org.get("name") or ""), weights.title_boost or 0.5),
             (str(org.get("summary") or ""), weights.title_weight),
             (str(org.get("description") or ""), 1.0),
             (caps, weights.title_weight), (labels, 1.0)]
    terms = key_terms(searcher, parts, limit=weights.key_terms,
                      max_df=_max_df(searcher, weights), skip=_skip_words(weights))
    known = _known_weights(org.get("cpv_codes"))
    profile = Profile(terms, known, not known, [], _place(org))
    return profile, _text_query(terms, searcher, weights.query_idf_power, _field_boosts(weights))


def tenders_for(searcher, organisation: dict, *, top: int = 20, statuses=("open",),
                candidate_limit: int = 200, weights: Weights = DEFAULT_WEIGHTS) -> list[Match]:
    """Rank tenders for an organisation with the same components as
    :func:`match_tender` (text, CPV, certifications, distance, track record).

    The tender's codes define the CPV weights and its required
    certifications the cert share; the distance is from the tender's place
    to the organisation's place, against the organisation's service radius.
    """
    searcher = _scoring_searcher(searcher, weights)
    allow = set(_allow(searcher, (("kind", ("tender",)),)))
    if statuses:
        allow &= _allow(searcher, (("status", tuple(statuses)),))
    profile, text_q = organisation_profile(searcher, organisation, weights=weights)
    codes = [c for c in (cpv.normalise(x) for x in organisation.get("cpv_codes") or ()) if c]
    certs = {normalise_cert(c) for c in organisation.get("certifications") or ()}
    loc = _place(organisation)
    radius = _num(organisation.get("service_radius_km"))
    firm_places = [(loc[0], loc[1], radius if radius is not None else 50.0)] if loc else []
    track_n = int(_num(organisation.get("track_record")) or 0)

    cands: dict[int, dict] = {}
    text_scores: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    if text_q:
        for docnum, score, f, words in _text_search(searcher, text_q, allow, candidate_limit,
                                                    _rare_df(searcher, weights)):
            text_scores[docnum] = score
            cands[docnum] = f
            matched[docnum] = sorted(words)
    cpv_terms = [Term("cpv", p) for p in profile.cpv_weights if len(p) >= 3]
    if cpv_terms:
        acc = _bm25_collect(searcher, [("", q) for q in cpv_terms], allow)
        for d in _top(acc.scores, candidate_limit):
            if d not in cands:
                cands[d] = _stored(searcher, d)

    best_text = max(text_scores.values(), default=0.0) or 1.0
    out = []
    for docnum, f in cands.items():
        text = text_scores.get(docnum, 0.0) / best_text
        t_weights = _known_weights(f.get("cpv_codes"))
        cpv_v, overlaps = cpv_component(t_weights, codes)
        required = list(f.get("certs") or [])
        cert_v, covered, missing = cert_component(required, certs)
        places = f.get("places") or []
        tplace = (places[0][0], places[0][1]) if places else None
        geo_v, dist, within, rad = geo_component(tplace, firm_places)
        track_v = track_component(track_n)
        comps = {"text": round(text, 4), "cpv": round(cpv_v, 4), "cert": round(cert_v, 4),
                 "geo": round(geo_v, 4), "track": round(track_v, 4)}
        score = (weights.text * text + weights.cpv * cpv_v + weights.cert * cert_v
                 + weights.geo * geo_v + weights.track * track_v)
        reasons = Reasons(
            terms=matched.get(docnum, []), cpv=overlaps, cpv_inferred=False,
            certifications_covered=covered, certifications_missing=missing,
            distance_km=dist, within_radius=within, radius_km=rad, track_record=track_n,
            divisions=sorted({c[:2] for c in f.get("cpv_codes") or []}),
        )
        out.append(Match(f["doc_id"], f.get("kind", ""), f.get("title", ""),
                         round(score, 6), comps, reasons))
    out.sort(key=lambda m: (-m.score, m.doc_id))
    return out[:top]
