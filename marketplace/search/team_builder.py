"""Team builder: which of a tender's requirements my organisation lacks, and the smallest
team of partners that covers them.

Pure functions over plain values (no database, no index), so the rules can be tested on
their own. :mod:`marketplace.search.services` feeds them from the database and the scorer.

Coverage rules (one place, used for "what I lack" and "what a partner brings"):

* **capability**: the requirement's words and a capability's words (lower-cased, stemmed,
  stop words dropped) are one a subset of the other: "roofing" covers "flat roofs", and a
  "flat roofing" firm covers a "roofing" requirement.
* **cpv**: along the hierarchy, one code is the other or an ancestor of it: a firm listing
  class 4526 covers a requirement for 45261000, and one listing division 45 covers it too.
* **certification**: a certification of the same (normalised) name that is valid today;
  the caller passes only valid ones.

Choosing partners is greedy set cover (DESIGN.md, "Team builder"): at each step the
candidate filling the most remaining gaps, ties broken by match score, then distance.
Teams are at most three, so an exhaustive check of the smaller teams follows and makes the
answer minimal where greedy's classic trap would add a partner too many.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from marketplace.cpv import STOPWORDS, stem

KINDS = ("capability", "cpv", "certification")
MAX_PARTNERS = 3
# Exhaustive search for a smaller team looks at this many of the best candidates.
EXHAUSTIVE_POOL = 40
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS)


def normalise_cert(name: str) -> str:
    return " ".join(name.replace(",", " ").lower().split())


def cpv_prefix(code: str) -> str:
    """The digits that place an 8-digit code in the hierarchy: 45261000 -> 45261."""
    digits = re.sub(r"\D", "", code)[:8]
    stripped = digits.rstrip("0")
    return stripped if len(stripped) >= 2 else digits[:2]


@dataclass(frozen=True)
class Requirement:
    kind: str  # "capability" | "cpv" | "certification"
    value: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.value.lower())


@dataclass(frozen=True)
class Holdings:
    """What one party brings: capability tags, CPV codes, valid certifications."""

    capabilities: frozenset[str] = frozenset()
    cpv_codes: frozenset[str] = frozenset()
    certifications: frozenset[str] = frozenset()

    @classmethod
    def of(cls, capabilities: Iterable[str] = (), cpv_codes: Iterable[str] = (),
           certifications: Iterable[str] = ()) -> Holdings:
        return cls(frozenset(c for c in capabilities if c),
                   frozenset(c for c in cpv_codes if c),
                   frozenset(normalise_cert(c) for c in certifications if c))

    def __or__(self, other: Holdings) -> Holdings:
        return Holdings(self.capabilities | other.capabilities,
                        self.cpv_codes | other.cpv_codes,
                        self.certifications | other.certifications)


def covers(holdings: Holdings, req: Requirement) -> bool:
    if req.kind == "certification":
        return normalise_cert(req.value) in holdings.certifications
    if req.kind == "cpv":
        want = cpv_prefix(req.value)
        return any(p.startswith(want) or want.startswith(p)
                   for p in (cpv_prefix(c) for c in holdings.cpv_codes))
    want = _words(req.value)
    if not want:
        return False
    for cap in holdings.capabilities:
        have = _words(cap)
        if have and (want <= have or have <= want):
            return True
    return False


def gaps(requirements: Iterable[Requirement], mine: Holdings) -> list[Requirement]:
    """The requirements ``mine`` does not cover, in the tender's order, without repeats."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in requirements:
        if r.key in seen:
            continue
        seen.add(r.key)
        if not covers(mine, r):
            out.append(r)
    return out


@dataclass(frozen=True)
class Candidate:
    key: str  # stable id, e.g. "org:12"
    holdings: Holdings
    score: float = 0.0  # the scorer's match score for the tender
    distance_km: float | None = None

    def covered(self, needed: Iterable[Requirement]) -> frozenset[Requirement]:
        return frozenset(r for r in needed if covers(self.holdings, r))


@dataclass
class Pick:
    candidate: Candidate
    fills: list[Requirement]  # gaps this partner closes that the earlier picks did not
    also: list[Requirement] = field(default_factory=list)  # further gaps it covers too


@dataclass
class TeamPlan:
    gaps: list[Requirement]
    picks: list[Pick]
    uncovered: list[Requirement]

    @property
    def complete(self) -> bool:
        return bool(self.gaps) and not self.uncovered


def _rank_key(c: Candidate) -> tuple:
    dist = c.distance_km if c.distance_km is not None else math.inf
    return (-c.score, dist, c.key)


def _greedy(needed: list[Requirement], pool: list[Candidate], limit: int
            ) -> list[Candidate]:
    left = set(needed)
    chosen: list[Candidate] = []
    while left and len(chosen) < limit:
        best = None
        best_key = None
        for c in pool:
            if c in chosen:
                continue
            gain = len(c.covered(left))
            if not gain:
                continue
            key = (-gain, *_rank_key(c))
            if best_key is None or key < best_key:
                best, best_key = c, key
        if best is None:
            break
        chosen.append(best)
        left -= best.covered(left)
    return chosen


def _smallest(target: frozenset[Requirement], pool: list[Candidate], below: int
              ) -> list[Candidate] | None:
    """The best-ranked team of fewer than ``below`` candidates covering ``target``."""
    cover = {c.key: c.covered(target) for c in pool}
    useful = [c for c in pool if cover[c.key]][:EXHAUSTIVE_POOL]
    for size in range(1, below):
        teams = [team for team in combinations(useful, size)
                 if frozenset().union(*(cover[c.key] for c in team)) >= target]
        if teams:
            return list(min(teams, key=lambda t: (
                -sum(c.score for c in t),
                sum(c.distance_km if c.distance_km is not None else 1e6 for c in t),
                [c.key for c in t])))
    return None


def build_team(needed: list[Requirement], candidates: Iterable[Candidate], *,
               max_partners: int = MAX_PARTNERS) -> TeamPlan:
    """Choose up to ``max_partners`` candidates covering as many of ``needed`` as possible,
    with as few partners as possible."""
    pool = sorted({c.key: c for c in candidates}.values(), key=_rank_key)
    chosen = _greedy(needed, pool, max_partners)
    target = frozenset().union(*(c.covered(needed) for c in chosen)) if chosen else frozenset()
    if len(chosen) > 1:
        smaller = _smallest(target, pool, len(chosen))
        if smaller is not None:
            chosen = _greedy(list(target), smaller, len(smaller))
    picks: list[Pick] = []
    done: set[Requirement] = set()
    for c in chosen:
        mine = c.covered(needed)
        picks.append(Pick(c, [r for r in needed if r in mine and r not in done],
                          [r for r in needed if r in mine and r in done]))
        done |= mine
    return TeamPlan(list(needed), picks, [r for r in needed if r not in done])


def best_alliance(needed: list[Requirement], alliances: Iterable[Candidate]) -> Pick | None:
    """The existing alliance covering most of the gaps on its own (members' union), best
    ranked on ties; ``None`` when none covers any."""
    best = None
    best_key = None
    for a in alliances:
        got = a.covered(needed)
        if not got:
            continue
        key = (-len(got), *_rank_key(a))
        if best_key is None or key < best_key:
            best, best_key = Pick(a, [r for r in needed if r in got]), key
    return best
