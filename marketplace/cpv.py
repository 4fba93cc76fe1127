"""The CPV vocabulary: loading it from package data and reading its hierarchy.

Codes are stored as 8 digits without the check digit. The hierarchy is positional:
division = first 2 digits, group = 3, class = 4, category = 5 and finer.
"""

import csv
import io
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
