"""The CPV vocabulary: loading it from package data and reading its hierarchy.

Codes are stored as 8 digits without the check digit. The hierarchy is positional:
division = first 2 digits, group = 3, class = 4, category = 5 and finer.
"""

import csv
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from sqlalchemy import delete, func, select

from marketplace.extensions import db
from marketplace.models import CpvCode

LEVEL_NAMES = {2: "division", 3: "group", 4: "class"}


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, tuple[str, int, str | None]]:
    """code8 -> (label, level, parent code8), read once from the shipped CSV."""
    text = resources.files("marketplace.data").joinpath("cpv_2008_en.csv").read_text("utf-8")
    rows = {}
    for row in csv.DictReader(io.StringIO(text)):
        rows[row["code8"]] = (row["label_en"], int(row["level"]), row["parent_code8"] or None)
    return rows


def label(code: str) -> str | None:
    entry = vocabulary().get(code)
    return entry[0] if entry else None


def is_valid_code(code: str) -> bool:
    return code in vocabulary()


def ancestors(code: str) -> list[str]:
    """The code's chain from its division down to itself (8-digit codes)."""
    chain = []
    current: str | None = code
    while current and current in vocabulary():
        chain.append(current)
        current = vocabulary()[current][2]
    return list(reversed(chain))


def prefix(code: str, level: int) -> str:
    return code[:level]


def load_cpv_codes(*, replace: bool = False) -> int:
    """Fill the cpv_codes table from package data (caller commits). Returns rows written."""
    if not replace and db.session.scalar(select(func.count()).select_from(CpvCode)):
        return 0
    db.session.execute(delete(CpvCode))
    rows = [{"code": code, "label": lbl, "level": level, "parent_code": parent}
            for code, (lbl, level, parent) in vocabulary().items()]
    for start in range(0, len(rows), 2000):
        db.session.execute(CpvCode.__table__.insert(), rows[start:start + 2000])
    db.session.flush()
    return len(rows)


# -- the picker: search, hierarchy and suggestions ---------------------------------------------
#
# Everything below works on the in-memory vocabulary (9,454 labels, read once per process),
# so a keystroke in the typeahead costs a few milliseconds and no database round trip.

WORD_RE = re.compile(r"[a-z0-9]+")
CODE_QUERY_RE = re.compile(r"^\s*(\d{1,8})(?:-\d)?\s*$")
PREFIX_RE = re.compile(r"^\d{2,4}$")
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
    "its", "of", "on", "or", "our", "the", "their", "to", "we", "with", "you", "your", "us",
    "who", "what", "which", "all", "also", "any", "other", "than", "such", "not", "no", "can",
    "will", "has", "have", "had",
})
MAX_QUERY_CHARS = 100
MAX_TERM_WEIGHT = 3.0


@dataclass(frozen=True)
class CodeHit:
    code: str
    label: str
    level: int
    path: list[tuple[str, str]]  # (code, label) from division down to the code's parent
    score: float = 0.0
    matched: list[str] = field(default_factory=list)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, "category")


SUFFIXES = (("ing", 6), ("ers", 6), ("er", 5), ("ies", 5), ("es", 5), ("s", 4))


def stem(word: str) -> str:
    """A deliberately small English stemmer: enough to meet "roofs", "roofing", "roofer"
    and "buildings", "building", "build"."""
    for _ in range(2):
        for suffix, min_len in SUFFIXES:
            if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
                word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
                break
        else:
            break
    return word


def terms(text: str) -> list[str]:
    return [stem(w) for w in WORD_RE.findall(text.lower())
            if w not in STOPWORDS and not w.isdigit()]


def _hit(code: str, score: float = 0.0, matched: list[str] | None = None) -> CodeHit:
    lbl, level, _ = vocabulary()[code]
    path = [(c, vocabulary()[c][0]) for c in ancestors(code)[:-1]]
    return CodeHit(code, lbl, level, path, round(score, 3), matched or [])


def significant_prefix(code: str) -> str:
    """45210000 -> 4521: the digits that place a code in the hierarchy."""
    level = vocabulary().get(code, (None, 8, None))[1]
    return code[:max(2, level)]


@lru_cache(maxsize=1)
def _label_terms() -> dict[str, frozenset[str]]:
    return {code: frozenset(terms(lbl)) for code, (lbl, _, _) in vocabulary().items()}


@lru_cache(maxsize=1)
def _idf() -> dict[str, float]:
    df: Counter[str] = Counter()
    for label_terms in _label_terms().values():
        df.update(label_terms)
    n = len(_label_terms())
    return {t: math.log((n + 1) / (count + 0.5)) for t, count in df.items()}


def search_codes(query: str, limit: int = 30) -> list[CodeHit]:
    """Codes for a query: a number is a code prefix ("4521", "45210000-2"); words must all
    appear (by stem) in the label. Shallower codes come first so the hierarchy reads top
    down; among equals, shorter labels (closer matches) first."""
    query = (query or "")[:MAX_QUERY_CHARS]
    limit = max(1, min(limit, 100))
    number = CODE_QUERY_RE.match(query)
    if number:
        digits = number.group(1)
        codes = [c for c in vocabulary() if c.startswith(digits)]
        codes.sort(key=lambda c: (vocabulary()[c][1], c))
        return [_hit(c) for c in codes[:limit]]
    wanted = set(terms(query))
    if not wanted:
        return []
    # Each query word may also match as the start of a label word ("carp" -> carpentry).
    label_terms = _label_terms()
    hits = []
    for code, have in label_terms.items():
        if all(w in have or any(h.startswith(w) for h in have) for w in wanted):
            exact = len(wanted & have)
            lbl, level, _ = vocabulary()[code]
            hits.append((-exact, level, len(lbl), code))
    hits.sort()
    return [_hit(code, matched=sorted(wanted)) for *_, code in hits[:limit]]


def suggest_codes(description: str, capabilities: list[str], *, exclude: set[str] = frozenset(),
                  limit: int = 8) -> list[CodeHit]:
    """Rank codes whose labels share rare words with the profile (tf-idf overlap).

    score(code) = sum over shared terms t of idf(t) x weight(t) / sqrt(|label terms|), where a
    term from a capability tag weighs 2 and one from the description 1, or a little more if it
    recurs (capped at 3). Dividing by the label's length favours labels that are mostly made of the
    firm's words; a division-coherence factor (below) then favours the firm's own trade.
    ``matched`` lists the shared terms so the page can say why a code was proposed.
    """
    weights: Counter[str] = Counter()
    for t, count in Counter(terms((description or "")[:20_000])).items():
        weights[t] += 1.0 + math.log(count)
    for tag in capabilities:
        for t in set(terms(tag)):
            weights[t] += 2.0
    # A word repeated across many tags says "this is our trade", but it should not drown
    # out the words that say which part of the trade.
    weights = Counter({t: min(w, MAX_TERM_WEIGHT) for t, w in weights.items()})
    if not weights:
        return []
    idf = _idf()
    scored = []
    for code, have in _label_terms().items():
        if code in exclude or not have:
            continue
        shared = have.intersection(weights)
        if not shared:
            continue
        score = sum(idf[t] * weights[t] for t in shared) / math.sqrt(len(have))
        # One shared common word ("services") is noise, not a suggestion.
        if len(shared) == 1 and idf[next(iter(shared))] < 3.0:
            continue
        scored.append((score, code, shared))
    if not scored:
        return []
    # Coherence: a firm's codes cluster in a few divisions. Labels from a division where many
    # labels match ("pest", "bird", "wasp" all in 90) beat a lone match elsewhere ("Bird
    # skins"). Each code's score is scaled by its division's share of the best 200 scores.
    scored.sort(key=lambda s: -s[0])
    division_mass: Counter[str] = Counter()
    for score, code, _ in scored[:200]:
        division_mass[code[:2]] += score
    top_mass = max(division_mass.values())
    ranked = [(score * (0.5 + division_mass[code[:2]] / top_mass), code, shared)
              for score, code, shared in scored]
    ranked.sort(key=lambda s: (-s[0], vocabulary()[s[1]][1], s[1]))
    return [_hit(code, score, sorted(shared)) for score, code, shared in ranked[:limit]]


def children(prefix_digits: str) -> list[tuple[str, str]]:
    """(prefix, label) of the codes one level below a 2- or 3-digit prefix, or the divisions
    for an empty prefix. Used by the directory's division > group > class selects."""
    level = len(prefix_digits) + 1 if prefix_digits else 2
    if level > 4:
        return []
    return [(code[:level], lbl) for code, (lbl, lvl, _) in vocabulary().items()
            if lvl == level and code.startswith(prefix_digits)]


def prefix_label(prefix_digits: str) -> str | None:
    """Label of the division/group/class named by a 2-4 digit prefix."""
    if not PREFIX_RE.match(prefix_digits or ""):
        return None
    return label(prefix_digits.ljust(8, "0"))
