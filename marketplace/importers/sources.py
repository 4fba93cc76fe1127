"""Reading import files: format detection, JSON Lines, CSV and whole JSON documents.

Readers yield ``RawRecord``s (a parsed object with its line number, or the reason the line
could not be parsed); checking the fields is the importers' business. JSON Lines are read
one line at a time, so large files are never held in memory; CSV member lists are small and
are decoded whole, which lets a file saved by a spreadsheet in Windows-1252 still be read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

BOM = b"\xef\xbb\xbf"
FORMATS = ("jsonl", "csv", "json")


class FileUnreadable(ValueError):
    """The file as a whole cannot be read (wrong format, no header, bad encoding)."""


@dataclass
class RawRecord:
    line: int | None
    data: dict | None = None
    # (field, reason) when the record could not even be parsed.
    error: tuple[str, str] | None = None
    position: str | None = None


def detect_format(stream: BinaryIO, filename: str = "") -> str:
    """"jsonl", "json" (one document, e.g. an OCDS release package) or "csv"."""
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    start = stream.tell()
    try:
        first = b""
        for raw in stream:
            first = raw.strip().removeprefix(BOM).strip()
            if first:
                break
    finally:
        stream.seek(start)
    if not first:
        raise FileUnreadable("the file is empty")
    if first.startswith(b"["):
        return "json"
    if first.startswith(b"{"):
        try:
            obj = json.loads(first)
        except ValueError:
            return "json"  # a pretty-printed document spans several lines
        if isinstance(obj, dict) and "releases" in obj:
            return "json"
        return "jsonl"
    return "csv"


def count_lines(stream: BinaryIO) -> int:
    start = stream.tell()
    total = sum(1 for raw in stream if raw.strip())
    stream.seek(start)
    return total


def read_jsonl(stream: BinaryIO) -> Iterator[RawRecord]:
    for number, raw in enumerate(stream, start=1):
        if number == 1:
            raw = raw.removeprefix(BOM)
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield RawRecord(number, error=("line", "not UTF-8 text"))
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            reason = getattr(exc, "msg", str(exc))
            yield RawRecord(number, error=("line", f"bad JSON: {reason}"))
            continue
        if not isinstance(data, dict):
            yield RawRecord(number, error=("line", "bad JSON: expected an object {...}"))
            continue
        yield RawRecord(number, data)


def read_json_document(stream: BinaryIO) -> object:
    raw = stream.read().removeprefix(BOM)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise FileUnreadable("the file is not UTF-8 text") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        where = f" at line {line}" if line else ""
        raise FileUnreadable(f"bad JSON{where}: {getattr(exc, 'msg', exc)}") from None


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", name.casefold()).strip()


@dataclass
class CsvFile:
    """A CSV file with its header mapped onto record fields."""

    columns: dict[int, str]
    rows: list[tuple[int, list[str]]]
    header_width: int
    ignored: list[str] = field(default_factory=list)
    encoding: str = "utf-8"

    def records(self) -> Iterator[RawRecord]:
        for line, cells in self.rows:
            if len(cells) > self.header_width and any(c.strip()
                                                       for c in cells[self.header_width:]):
                yield RawRecord(line, error=(
                    "line", f"{len(cells)} cells but the header has {self.header_width} "
                            "columns (check quoting)"))
                continue
            yield RawRecord(line, {name: cells[index] if index < len(cells) else ""
                                   for index, name in self.columns.items()})


def read_csv(stream: BinaryIO, aliases: dict[str, str], required: tuple[str, ...]) -> CsvFile:
    """Map the header through ``aliases`` (normalised header -> field name)."""
    raw = stream.read()
    encoding = "utf-8"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows save "CSV" in their ANSI code page.
        encoding = "windows-1252"
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise FileUnreadable("the file is neither UTF-8 nor Windows-1252 text") from None
    if "\x00" in text:
        raise FileUnreadable("the file contains NUL bytes: is it a spreadsheet, not CSV?")
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileUnreadable("the file is empty") from None
    except csv.Error as exc:
        raise FileUnreadable(f"bad CSV header: {exc}") from None
    columns: dict[int, str] = {}
    ignored = []
    for index, name in enumerate(header):
        target = aliases.get(normalise_header(name))
        if target is None:
            if name.strip():
                ignored.append(name.strip())
            continue
        if target in columns.values():
            raise FileUnreadable(f"two columns map to {target!r}; keep one")
        columns[index] = target
    missing = [name for name in required if name not in columns.values()]
    if missing:
        raise FileUnreadable("no column for " + ", ".join(repr(m) for m in missing)
                             + f" in the header line ({', '.join(header)[:200]})")
    rows = []
    previous_end = reader.line_num
    try:
        for cells in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if any(c.strip() for c in cells):
                rows.append((start, cells))
    except csv.Error as exc:
        raise FileUnreadable(f"bad CSV near line {previous_end + 1}: {exc}") from None
    return CsvFile(columns, rows, len(header), ignored, encoding)
