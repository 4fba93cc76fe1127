"""Checking and normalising one field of an imported record.

Each checker takes the raw value (from JSON or a CSV cell) and returns the normalised value,
or raises ``Invalid`` with a reason a person can act on. ``None`` and empty strings mean
"not given" for optional fields.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from marketplace.cpv import vocabulary
from marketplace.importers.report import show
from marketplace.models import SizeBand

# Lengths follow the columns they end up in.
MAX_DESCRIPTION = 50_000
MAX_TAG = 60
MAX_TAGS = 100
MAX_CPV_CODES = 200
MAX_URL = 300
# Numeric(14, 2)
MAX_MONEY = Decimal("999999999999.99")
NAIVE_TIMES_ZONE = ZoneInfo("Europe/London")

_CPV_RE = re.compile(r"^(\d{8})(?:-\d)?$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?$")
_LIST_SPLIT = re.compile(r"[;,\s]+")


class Invalid(ValueError):
    """The value cannot be imported; the message says why."""


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has_control_chars(text: str, *, multiline: bool) -> bool:
    allowed = "\n\r\t" if multiline else ""
    return any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in text)


def text(value: object, *, max_len: int, required: bool = False,
         multiline: bool = False) -> str | None:
    if _blank(value):
        if required:
            raise Invalid("missing (required)")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(f"must be text, not {type(value).__name__}")
    result = str(value).strip()
    if _has_control_chars(result, multiline=multiline):
        raise Invalid("contains control characters")
    if not multiline:
        result = " ".join(result.split())
    if len(result) > max_len:
        raise Invalid(f"too long: {len(result)} characters, at most {max_len}")
    return result


def identifier(value: object, *, max_len: int = 200) -> str:
    """A record's id in its source: text or a whole number."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = text(value, max_len=max_len, required=True)
    assert result is not None
    return result


def cpv_code(value: object) -> str:
    # JSON numbers lose the leading zero of divisions 03 and 09.
    raw = str(value).zfill(8) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(raw, str):
        raise Invalid(f"bad CPV code {show(value)}: must be text")
    match = _CPV_RE.match(raw.strip())
    if not match:
        raise Invalid(f"bad CPV code {show(raw)}: expected 8 digits, e.g. 45000000")
    code = match.group(1)
    if code not in vocabulary():
        raise Invalid(f"bad CPV code {show(code)}: not in the CPV 2008 vocabulary")
    return code


def cpv_codes(value: object) -> tuple[str, ...]:
    """A list of codes, or one string of codes separated by semicolons, commas or spaces."""
    items = _as_list(value, split=_LIST_SPLIT)
    if len(items) > MAX_CPV_CODES:
        raise Invalid(f"too many CPV codes: {len(items)}, at most {MAX_CPV_CODES}")
    return tuple(dict.fromkeys(cpv_code(item) for item in items))


def tags(value: object) -> tuple[str, ...]:
    """Capability tags: a list, or one string separated by semicolons."""
    items = _as_list(value, split=re.compile(r";"))
    result: dict[str, str] = {}
    for item in items:
        tag = text(item, max_len=MAX_TAG)
        if tag:
            result.setdefault(tag.casefold(), tag)
    if len(result) > MAX_TAGS:
        raise Invalid(f"too many capabilities: {len(result)}, at most {MAX_TAGS}")
    return tuple(result.values())


def _as_list(value: object, *, split: re.Pattern) -> list:
    if _blank(value):
        return []
    if isinstance(value, str):
        return [part for part in split.split(value) if part.strip()]
    if isinstance(value, list):
        return [item for item in value if not _blank(item)]
    raise Invalid(f"must be a list, not {type(value).__name__}")


def size(value: object) -> str | None:
    if _blank(value):
        return None
    key = value.strip().lower() if isinstance(value, str) else value
    if key == "sme":  # OCDS scale codelist: small or medium, no finer band to store
        return None
    allowed = [band.value for band in SizeBand]
    if key not in allowed:
        raise Invalid(f"bad size {show(value)}: use one of {', '.join(allowed)}")
    return key


def number(value: object) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise Invalid("must be a number")
    try:
        result = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(
            value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Invalid(f"not a number: {show(value)}") from None
    if not math.isfinite(result):
        raise Invalid(f"not a finite number: {show(value)}")
    return result


def latitude(value: object) -> float | None:
    result = number(value)
    if result is not None and not -90 <= result <= 90:
        raise Invalid(f"latitude {result} out of range -90..90")
    return result


def longitude(value: object) -> float | None:
    result = number(value)
    if result is not None and not -180 <= result <= 180:
        raise Invalid(f"longitude {result} out of range -180..180")
    return result


def radius_km(value: object) -> int | None:
    result = number(value)
    if result is None:
        return None
    if not result.is_integer() or not 0 <= result <= 1000:
        raise Invalid(f"service radius {show(value)} must be a whole number of km, 0 to 1000")
    return int(result)


def web_url(value: object, *, max_len: int = MAX_URL) -> str | None:
    """http(s) URLs only; a bare host such as www.example.com gets https://."""
    result = text(value, max_len=max_len)
    if result is None:
        return None
    if "://" not in result and ":" not in result.split("/")[0] and _HOST_RE.match(
            result.split("/")[0]):
        result = "https://" + result
    try:
        parts = urlsplit(result)
    except ValueError:
        raise Invalid(f"not a valid URL: {show(result)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise Invalid(f"bad URL scheme in {show(result)}: only http and https are allowed")
    if not parts.hostname or " " in result:
        raise Invalid(f"not a valid URL: {show(result)}")
    if len(result) > max_len:
        raise Invalid(f"too long: {len(result)} characters, at most {max_len}")
    return result


def money(value: object) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise Invalid("must be an amount")
    try:
        result = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, TypeError):
        raise Invalid(f"not an amount: {show(value)}") from None
    if not result.is_finite() or result < 0:
        raise Invalid(f"amount {show(value)} must be zero or more")
    if result > MAX_MONEY:
        raise Invalid(f"amount {show(value)} is too large")
    return result.quantize(Decimal("0.01"))


def currency(value: object) -> str | None:
    if _blank(value):
        return None
    result = value.strip().upper() if isinstance(value, str) else None
    if not result or not _CURRENCY_RE.match(result):
        raise Invalid(f"bad currency {show(value)}: use a 3-letter ISO 4217 code such as GBP")
    return result


def timestamp(value: object, *, require_time: bool = True) -> datetime | None:
    """An ISO 8601 date-time, returned in UTC. Times without an offset are UK local time
    (the zone Guild shows deadlines in); a bare date is refused for deadlines because
    the hour matters."""
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise Invalid(f"bad date {show(value)}: use ISO 8601, e.g. 2025-03-01T12:00:00Z")
    raw = value.strip()
    if require_time and len(raw) <= 10:
        raise Invalid(f"bad date {show(raw)}: a deadline needs a time, "
                      "e.g. 2025-03-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"bad date {show(raw)}: use ISO 8601, e.g. 2025-03-01T12:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=NAIVE_TIMES_ZONE)
    if not 1990 <= parsed.year <= 2200:
        raise Invalid(f"bad date {show(raw)}: year out of range")
    return parsed.astimezone(UTC)


class FieldChecker:
    """Collects the normalised fields of one record and every problem with them."""

    def __init__(self, labels: dict[str, str] | None = None):
        self.values: dict[str, object] = {}
        self.errors: list[tuple[str, str]] = []
        # Field names as the file calls them (CSV headers, OCDS paths), for the report.
        self.labels = labels or {}

    def check(self, name: str, raw: object, checker, **options) -> None:
        try:
            self.values[name] = checker(raw, **options)
        except Invalid as exc:
            self.error(name, str(exc))

    def error(self, name: str, reason: str) -> None:
        self.errors.append((self.labels.get(name, name), reason))
