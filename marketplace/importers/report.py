"""What an import did: counts per outcome and one row per problem, printable and as TSV."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

# Cells starting with these are run as formulas when the TSV is opened in a spreadsheet.
_FORMULA_PREFIXES = ("=", "+", "-", "@")
MAX_VALUE_SHOWN = 60


def show(value: object) -> str:
    """A bad value quoted in a reason: shortened, on one line."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    if len(text) > MAX_VALUE_SHOWN:
        text = text[:MAX_VALUE_SHOWN - 1] + "…"
    return f"'{text}'" if isinstance(value, str) else text


@dataclass(frozen=True)
class Problem:
    """One reason a record (or the whole file, when ``line`` is 0) was not imported.

    ``line`` is the 1-based line of the record in the file; records of an OCDS release
    package have no line of their own and carry their position (``releases[3]``) instead.
    """

    line: int | None
    field: str
    reason: str
    record_id: str | None = None
    position: str | None = None

    @property
    def location(self) -> str:
        if self.line is not None:
            return f"line {self.line}" if self.line else "file"
        return self.position or "?"


@dataclass
class ImportReport:
    kind: str
    file_format: str = ""
    dry_run: bool = False
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Things worth knowing that did not stop a record (ignored CSV columns, skipped records).
    notices: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def file_failed(self) -> bool:
        """The file could not be read at all (nothing was imported)."""
        return any(p.line == 0 for p in self.problems)

    def fail(self, problem: Problem) -> None:
        self.problems.append(problem)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [f"{self.created} {verb}created", f"{self.updated} {verb}updated",
                 f"{self.unchanged} unchanged"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        parts.append(f"{self.failed} failed")
        noun = "record" if self.records == 1 else "records"
        fmt = f" ({self.file_format})" if self.file_format else ""
        text = f"read {self.records} {self.kind} {noun}{fmt}: " + ", ".join(parts) + "."
        return f"Dry run: {text}" if self.dry_run else text[0].upper() + text[1:]

    def lines(self) -> list[str]:
        """The report as human-readable lines: problems first, then notices."""
        out = []
        for p in self.problems:
            rid = f" [{p.record_id}]" if p.record_id else ""
            out.append(f"{p.location}{rid}: {p.field}: {p.reason}")
        for p in self.notices:
            rid = f" [{p.record_id}]" if p.record_id else ""
            out.append(f"note: {p.location}{rid}: {p.field}: {p.reason}")
        return out

    def to_tsv(self) -> str:
        buf = io.StringIO()
        buf.write("line\trecord_id\tfield\treason\tseverity\n")
        for severity, rows in (("error", self.problems), ("notice", self.notices)):
            for p in rows:
                where = str(p.line) if p.line is not None else (p.position or "")
                cells = [where, p.record_id or "", p.field, p.reason, severity]
                buf.write("\t".join(_tsv_cell(c) for c in cells) + "\n")
        return buf.getvalue()


def _tsv_cell(value: str) -> str:
    value = value.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if value.startswith(_FORMULA_PREFIXES):
        value = "'" + value
    return value
