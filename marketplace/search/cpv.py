"""CPV 2008 vocabulary: labels, hierarchy and prefix expansion.

The Common Procurement Vocabulary is hierarchical: an 8-digit code such as
``45321000`` (thermal insulation work) sits below class ``4532`` (insulation
work), group ``453`` (building installation work) and division ``45``
(construction work).  The significant prefix of a code is the code with the
trailing zero digits of the unused levels removed, so a division code
``45000000`` has the prefix ``45``, a group code ``45300000`` the prefix
``453`` and so on.  Codes below class level (category, subcategory...) keep
their own prefixes as well (``45321``), which makes "every code below X" a
single term lookup in the index.

Public API
----------
``load()``                      -> :class:`Vocabulary` (cached, loaded once)
``normalise(code)``             -> ``"45321000"`` or ``None`` for garbage
``prefix(code8)``               -> significant prefix (``"4532"`` for ``45320000``)
``expand(codes)``               -> every code and all ancestors' prefixes
``level_of_prefix(prefix)``     -> ``"division"``, ``"group"``, ``"class"`` or ``"fine"``
``label(code8)``                -> English label or ``""``

The data file is ``marketplace/data/cpv_2008_en.csv`` (read through
``importlib.resources``); when the package data is missing (during early
development) the shared copy in ``/work/shared/data`` is used.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources

_FALLBACK_PATHS = (
    os.environ.get("GUILD_CPV_CSV", ""),
    "/work/shared/data/cpv_2008_en.csv",
)
_DIGITS = re.compile(r"\d{2,8}")

#: Names of the hierarchy levels by prefix length.
LEVELS = {2: "division", 3: "group", 4: "class"}


@dataclass
class Vocabulary:
    """The CPV code list: label and parent of each 8-digit code."""

    labels: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)

    def __contains__(self, code8: str) -> bool:
        return code8 in self.labels


def _read_csv_text() -> str:
    try:
        ref = resources.files("marketplace").joinpath("data/cpv_2008_en.csv")
        return ref.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        pass
    for path in _FALLBACK_PATHS:
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
    raise FileNotFoundError("cpv_2008_en.csv not found (marketplace/data or GUILD_CPV_CSV)")


@functools.lru_cache(maxsize=1)
def load() -> Vocabulary:
    """Load the vocabulary once per process."""
    vocab = Vocabulary()
    for row in csv.DictReader(io.StringIO(_read_csv_text())):
        code8 = row["code8"]
        vocab.labels[code8] = row["label_en"]
        if row.get("parent_code8"):
            vocab.parents[code8] = row["parent_code8"]
        vocab.prefixes[code8] = code8[: int(row["level"])]
    return vocab


def normalise(code: object) -> str | None:
    """Return the 8-digit form of a CPV code (``"45321000-3"`` -> ``"45321000"``).

    Shorter digit strings are taken as prefixes and padded with zeros
    (``"4532"`` -> ``"45320000"``).  Anything else gives ``None``.
    """
    if code is None:
        return None
    m = _DIGITS.search(str(code))
    if not m:
        return None
    digits = m.group(0)
    return digits.ljust(8, "0")


def prefix(code8: str) -> str:
    """Significant prefix of an 8-digit code (``"45300000"`` -> ``"453"``)."""
    vocab = load()
    p = vocab.prefixes.get(code8)
    if p:
        return p
    stripped = code8.rstrip("0")
    return stripped if len(stripped) >= 2 else code8[:2]


def ancestors(code8: str) -> list[str]:
    """Prefixes of the code and of all its ancestors, shortest first.

    ``"45321000"`` -> ``["45", "453", "4532", "45321"]``.
    """
    vocab = load()
    p = prefix(code8)
    out = {p[:n] for n in range(2, len(p) + 1)}
    c = vocab.parents.get(code8)
    while c:
        out.add(prefix(c))
        c = vocab.parents.get(c)
    return sorted(out, key=lambda t: (len(t), t))


def expand(codes: Iterable[object]) -> list[str]:
    """Index terms for a list of codes: each full 8-digit code and every
    ancestor prefix (division, group, class, finer levels), deduplicated."""
    terms: set[str] = set()
    for raw in codes or ():
        code8 = normalise(raw)
        if not code8:
            continue
        terms.add(code8)
        terms.update(ancestors(code8))
    return sorted(terms, key=lambda t: (len(t), t))


def level_of_prefix(p: str) -> str:
    """Name of the hierarchy level a prefix stands for."""
    return LEVELS.get(len(p), "fine" if len(p) > 4 else "division")


def label(code8: str) -> str:
    """English label of an 8-digit code, or an empty string."""
    return load().labels.get(code8, "")


def labels_for(codes: Iterable[object], *, min_level: int = 2) -> list[str]:
    """Labels of the given codes and of their ancestors down to prefixes of
    ``min_level`` digits (2: up to the division; 4: stop at the class)."""
    vocab = load()
    out: list[str] = []
    seen: set[str] = set()
    for raw in codes or ():
        c = normalise(raw)
        while c and c not in seen:
            seen.add(c)
            if c in vocab:
                if len(vocab.prefixes[c]) < min_level and out:
                    break
                out.append(vocab.labels[c])
            c = vocab.parents.get(c)
    return out
