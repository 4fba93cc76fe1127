"""Does the team cover what the tender asks for? Requirements against the union of the
members' capabilities, CPV codes and certifications that are valid today.

CPV coverage (the codes are positional: division 2 digits, group 3, class 4, finer after):
a member's code covers a required code when it is the same code or one *inside* it (a
roofer registered for 45261000 covers a requirement for construction work, 45000000), or
when it is a broader code at class level or finer (45260000 covers 45261210). A bare
division or group on a profile ("45000000: construction") is too vague to prove a specific
requirement, so it does not count as covering a narrower one.

With no requirements listed, the tender's own CPV codes are the requirements.
"""

from dataclasses import dataclass, field
from datetime import datetime

from marketplace import cpv
from marketplace.models import Bid, Organisation, RequirementKind, Tender

MIN_COVERING_ANCESTOR_DIGITS = 4


@dataclass
class RequirementCheck:
    kind: str
    value: str
    label: str
    covered_by: list[str] = field(default_factory=list)  # organisation names
    note: str = ""

    @property
    def covered(self) -> bool:
        return bool(self.covered_by)


@dataclass
class Eligibility:
    checks: list[RequirementCheck]

    @property
    def gaps(self) -> list[RequirementCheck]:
        return [c for c in self.checks if not c.covered]

    @property
    def complete(self) -> bool:
        return not self.gaps


def significant(code: str) -> str:
    digits = code.rstrip("0")
    return digits if len(digits) >= 2 else code[:2]


def cpv_covers(member_code: str, required_code: str) -> bool:
    m, r = significant(member_code), significant(required_code)
    if m.startswith(r):
        return True
    return r.startswith(m) and len(m) >= MIN_COVERING_ANCESTOR_DIGITS


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _requirements(tender: Tender) -> list[tuple[str, str]]:
    listed = [(r.kind.value if isinstance(r.kind, RequirementKind) else str(r.kind), r.value)
              for r in getattr(tender, "requirements", [])]
    if listed:
        return listed
    return [("cpv", c.code) for c in tender.cpv_codes]


def check(tender: Tender, organisations: list[Organisation], now: datetime) -> Eligibility:
    today = now.date()
    checks = []
    for kind, value in _requirements(tender):
        label = f"{value} {cpv.label(value) or ''}".strip() if kind == "cpv" else value
        item = RequirementCheck(kind=kind, value=value, label=label)
        expired: list[str] = []
        for org in organisations:
            profile = org.profile
            if profile is None:
                continue
            if kind == "capability":
                if any(_norm(c.tag) == _norm(value) for c in profile.capabilities):
                    item.covered_by.append(org.name)
            elif kind == "cpv":
                if any(cpv_covers(c.code, value) for c in profile.cpv_codes):
                    item.covered_by.append(org.name)
            elif kind == "certification":
                for cert in profile.certifications:
                    if _norm(value) in _norm(cert.name):
                        if cert.is_valid_on(today):
                            item.covered_by.append(org.name)
                            break
                        expired.append(f"{org.name}'s expired on {cert.valid_until:%d %b %Y}")
        if not item.covered and expired:
            item.note = "Certificate " + "; ".join(expired)
        checks.append(item)
    return Eligibility(checks=checks)


def check_bid(bid: Bid, now: datetime) -> Eligibility:
    return check(bid.tender, [m.organisation for m in bid.members], now)
