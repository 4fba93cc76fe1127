"""Hostile values for form fields, query strings and JSON bodies.

Field values are drawn by the field's WTForms type (text, number, date, choice, flag, file);
every type also gets the generic hostile text, so number fields see words and choice fields
see scripts. A form example keeps most fields at a valid baseline value and mutates a few, so
that both the accepting and the rejecting paths are driven.
"""

import io
import math
from functools import cache
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.fuzz.world import PDF, png

XSS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
       "{{7*7}}", "${7*7}", "<svg/onload=alert(1)>", "</textarea><b>x</b>"]
SQL = ["' OR '1'='1", "'; DROP TABLE users; --", "1; SELECT pg_sleep(1)", "\" OR 1=1 --",
       "%' AND 1=0 UNION SELECT password_hash FROM users --", "\\", "%", "_", "'"]
WHOOSH = ["AND", "OR NOT", "(", ")", "\"", "*", "?", "title:", "a:b:c", "[a TO", "{x TO y}",
          "~", "^2", "foo~9999", "*" * 50, "\"unterminated", "field:(", "NOT NOT NOT",
          "AND OR AND", "-", "+", "!", "..", "[TO]", "@", "a~1.5", "x^", "\u0000"]
ODD_UNICODE = ["\ud800", "\udfff", "\ufeff", "\u202e", "\u200b", "\uffff", "\U0010ffff",
               "e\u0301" * 20, "\u0130", "\u00df", "\ufb00",
               "\U0001d518\U0001d52b\U0001d526", "\U0001f3d7\ufe0f" * 10, "\u2028\u2029",
               "\uff21" * 30, "\x85", "\xa0"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m", "\x7f", "\r\n", "\n",
           "\t", "\x00" * 10, "a\x00b", "\r"]
NUMBERS = ["1e308", "-1e308", "1e309", str(10**40), str(-(10**40)), "-1", "0", "-0", "NaN",
           "nan", "Infinity", "-Infinity", "inf", "0x10", "1_000", "1,5", "1.5", "١٢٣",
           "9" * 400, "1e-400", "+5", " 7 ", "2147483648", "9223372036854775808", "00001",
           "1e5", "0.000000001", "3.14159265358979323846264338327950288"]
DATES = ["2024-02-30", "0001-01-01", "9999-12-31", "10000-01-01", "2024-13-01", "2024-1-1",
         "24-01-01", "2024-01-01T25:00", "2024-06-01T12:00", "9999-12-31T23:59",
         "0001-01-01T00:00", "1970-01-01T00:00:00Z", "2024-06-01T12:00+99:00", "today",
         "-2024-01-01", "2024-06-01 12:00", "2024-03-31T01:30"]
FLAGS = ["y", "on", "true", "1", "", "false", "0", "no", "n"]
LONG = [n * c for n, c in ((10_001, "a"), (100_000, "x"), (5_000, "é"), (3_000, "😀"),
                           (2_000, "<b>"))]


@cache
def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(XSS + SQL + WHOOSH + ODD_UNICODE + CONTROL + NUMBERS + DATES + FLAGS),
        st.sampled_from(LONG),
        st.text(max_size=40),  # any code point, surrogates included
        st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=400),
        st.builds(lambda a, b: a + b, st.sampled_from(XSS + SQL + WHOOSH),
                  st.sampled_from(CONTROL + ODD_UNICODE)),
    )


def numberish() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NUMBERS),
                     st.integers(min_value=-(10**50), max_value=10**50).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr))


def dateish() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(DATES), st.dates().map(str),
                     st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")))


@cache
def upload() -> st.SearchStrategy:
    names = st.one_of(
        st.sampled_from(["a.pdf", "../../etc/passwd", "x.png", "", ".pdf", "a\x00.pdf",
                         "<script>.pdf", "a" * 300 + ".pdf", "\ud800.pdf", "CON.pdf",
                         "a.PDF.exe", "a.svg", "a.html"]),
        st.text(max_size=30))
    bodies = st.one_of(
        st.sampled_from([PDF, png(), b"", b"GIF89a", b"<svg onload=alert(1)>",
                         b"PK\x03\x04" + b"\x00" * 30, b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
                         PDF + b"\x00" * 1000]),
        st.binary(max_size=300))
    return st.tuples(bodies, names)


@cache
def value_for(kind: str, choices: tuple[str, ...]) -> st.SearchStrategy:
    """A hostile value for a field of a WTForms type name."""
    by_kind = {
        "IntegerField": numberish(), "DecimalField": numberish(), "AmountField": numberish(),
        "FloatField": numberish(), "DateField": dateish(), "DateTimeLocalField": dateish(),
        "DateTimeField": dateish(), "BooleanField": st.sampled_from(FLAGS),
        "FileField": upload(),
    }
    options = [hostile_text()]
    if kind in by_kind:
        options.append(by_kind[kind])
    if choices:
        options.append(st.sampled_from(choices))
    return st.one_of(*options)


# Fields no form has: they must have no effect (mass assignment, SECURITY.md 11).
EXTRA_NAMES = ["owner_id", "user_id", "role", "status", "state", "version", "deadline",
               "is_site_admin", "is_buyer", "organisation_id", "buyer_id", "lead_id",
               "tender_id", "bid_id", "alliance_id", "created_by_id", "published_at",
               "hidden_at", "suspended_at", "password_hash", "id", "slug", "email",
               "session_generation", "awarded_bid_id", "submitted_at", "price", "csrf_token",
               "__proto__", "members-0-organisation_id", "submit"]
EXTRA_VALUES = ["1", "2", "3", "999999", "owner", "admin", "lead", "awarded", "submitted",
                "open", "y", "true", "2000-01-01T00:00", "0", "-1", "1000000000"]


@cache
def extras() -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from(EXTRA_NAMES),
                           st.one_of(st.sampled_from(EXTRA_VALUES), hostile_text()),
                           max_size=4)


MISSING = object()


@st.composite
def form_data(draw, fields: dict[str, tuple[str, list[str]]], baseline: dict) -> MultiDict:
    """Baseline values with a few fields replaced, dropped or repeated, plus extra fields."""
    names = sorted(set(fields) | set(baseline))
    mutate = draw(st.lists(st.sampled_from(names), unique=True, max_size=min(4, len(names)))
                  if names else st.just([]))
    data = MultiDict()
    for name in names:
        kind, choices = fields.get(name, ("StringField", []))
        if name not in mutate:
            if name in baseline:
                value = baseline[name]
                for v in value if isinstance(value, list) else [value]:
                    data.add(name, v)
            continue
        how = draw(st.sampled_from(["value", "value", "value", "missing", "repeat", "empty"]))
        if how == "missing":
            continue
        if how == "empty":
            data.add(name, "")
            continue
        for _ in range(2 if how == "repeat" else 1):
            data.add(name, draw(value_for(kind, tuple(choices))))
    # Half the examples carry extra fields: the other half reach deeper than the strict
    # parsers (the API's) that refuse any unknown field.
    if draw(st.booleans()):
        for name, value in draw(extras()).items():
            data.add(name, value)
    return data


def raw(text: str) -> bytes:
    """UTF-8, lone surrogates included as the (invalid) bytes a hostile client can send."""
    return text.encode("utf-8", "surrogatepass")


def urlencoded(pairs) -> str:
    return "&".join(f"{quote_from_bytes(raw(k), safe='')}={quote_from_bytes(raw(v), safe='')}"
                    for k, v in pairs)


def encode(data: MultiDict) -> tuple[bytes, str]:
    """The request body and its content type, encoded by hand: werkzeug's test client
    refuses to send the invalid UTF-8 a hostile client can."""
    pairs = list(data.items(multi=True))
    if not any(isinstance(v, tuple) for _, v in pairs):
        return urlencoded(pairs).encode("ascii"), "application/x-www-form-urlencoded"
    boundary = "fuzzboundary7MA4YWxkTrZu0gW"
    out = io.BytesIO()
    for name, value in pairs:
        out.write(f"--{boundary}\r\n".encode())
        disposition = b'Content-Disposition: form-data; name="' + raw(name).replace(b'"', b"%22")
        if isinstance(value, tuple):
            body, filename = value
            out.write(disposition + b'"; filename="' + raw(filename).replace(b'"', b"%22")
                      .replace(b"\r", b"").replace(b"\n", b"") + b'"\r\n'
                      b"Content-Type: application/octet-stream\r\n\r\n" + body + b"\r\n")
        else:
            out.write(disposition + b'"\r\n\r\n' + raw(value) + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# -- JSON ---------------------------------------------------------------------------------------

def json_scalars() -> st.SearchStrategy:
    return st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
        st.sampled_from([1e308, -1e308, 10**40, -(10**40), 2**63, -1, 0, 0.5, 1e-320]),
        st.floats(allow_nan=False, allow_infinity=False), hostile_text(),
        st.sampled_from(DATES + NUMBERS))


def json_values() -> st.SearchStrategy:
    return st.recursive(json_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
        max_leaves=8)


NON_FINITE = ["NaN", "Infinity", "-Infinity"]


@st.composite
def json_body(draw, properties: dict[str, dict], baseline: dict):
    """A body built on a valid baseline; returns (raw bytes) so that invalid JSON, NaN and
    non-object bodies are possible too."""
    import json

    shape = draw(st.sampled_from(["object"] * 8 + ["array", "scalar", "broken", "nonfinite"]))
    if shape == "array":
        return json.dumps(draw(st.lists(json_values(), max_size=3))).encode()
    if shape == "scalar":
        return json.dumps(draw(json_scalars())).encode()
    if shape == "broken":
        return draw(st.sampled_from([b"{", b"{nope", b"", b"\xff\xfe", b"{\"a\": }",
                                     b"[" * 5000, b"{\"version\": 1e999}",
                                     b"\x00", b"{\"title\": \"\\ud800\"}"]))
    body = dict(baseline)
    names = sorted(set(properties) | set(baseline))
    for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=4)):
        how = draw(st.sampled_from(["value", "value", "missing", "null"]))
        if how == "missing":
            body.pop(name, None)
        elif how == "null":
            body[name] = None
        else:
            body[name] = draw(_json_for(properties.get(name, {})))
    for name, value in draw(st.dictionaries(st.sampled_from(EXTRA_NAMES), json_values(),
                                            max_size=3)).items():
        body[name] = value
    text = json.dumps(body, allow_nan=True)
    if shape == "nonfinite":
        # Python writes NaN/Infinity; strict JSON parsers must refuse or handle them.
        text = text[:-1] + (", " if body else "") + f'"x": {draw(st.sampled_from(NON_FINITE))}}}'
    # Repeated keys: the last one wins in Python, a check must not rely on the first.
    if body and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(body)))
        text = text[:-1] + f", {json.dumps(key)}: {json.dumps(draw(json_scalars()))}}}"
    return text.encode("utf-8", "surrogatepass")


def _json_for(prop: dict) -> st.SearchStrategy:
    kind = prop.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    options = [json_values()]
    if "integer" in kinds or "number" in kinds:
        options.append(st.sampled_from([1e308, 10**40, -(10**40), -1, 2**31, 2**63, 0.5,
                                        math.nan, math.inf, -math.inf]))
    if "array" in kinds:
        options.append(st.lists(json_values(), max_size=60))
    if "string" in kinds:
        options.append(hostile_text())
    if prop.get("enum"):
        options.append(st.sampled_from(prop["enum"]))
    return st.one_of(*options)

