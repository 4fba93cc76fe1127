"""What an alliance's public page shows: members, combined cover, service area, portfolio.

Combined capabilities and CPV codes come only from members' *published* profiles, and
moderated (hidden) organisations are left out, so nothing appears here that is not public
elsewhere.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from marketplace import cpv
from marketplace.alliances.services import members_of
from marketplace.models import Alliance, AllianceRole, Organisation, Profile
from marketplace.projects.services import PublicProject, confirmed_projects_for_alliance


@dataclass(frozen=True)
class MemberView:
    organisation: Organisation
    role: AllianceRole
    joined_at: datetime
    profile: Profile | None  # only when published

    @property
    def is_lead(self) -> bool:
        return self.role == AllianceRole.LEAD

    @property
    def town(self) -> str:
        return (self.profile.town or "") if self.profile else ""

    @property
    def capabilities(self) -> list[str]:
        return [c.tag for c in self.profile.capabilities] if self.profile else []


@dataclass(frozen=True)
class DivisionCover:
    code: str  # 2 digits
    label: str
    codes: list[tuple[str, str]]  # (8-digit code, label)
    members: list[str]


@dataclass
class AllianceOverview:
    alliance: Alliance
    members: list[MemberView]
    capabilities: list[tuple[str, int]]  # tag, how many members offer it
    divisions: list[DivisionCover]
    towns: list[str]
    regions: list[str]
    max_radius_km: int | None
    certifications: list[str]
    projects: list[PublicProject] = field(default_factory=list)

    @property
    def leads(self) -> list[MemberView]:
        return [m for m in self.members if m.is_lead]


def _published(org: Organisation) -> Profile | None:
    profile = org.profile
    return profile if profile is not None and profile.is_published else None


def division_label(division: str) -> str:
    return cpv.label(division + "000000") or f"Division {division}"


def overview(alliance: Alliance, today=None) -> AllianceOverview:
    members = [MemberView(m.organisation, m.role, m.joined_at, _published(m.organisation))
               for m in members_of(alliance) if m.organisation.hidden_at is None]
    members.sort(key=lambda m: (not m.is_lead, m.organisation.name.lower()))

    capability_counts: Counter[str] = Counter()
    display: dict[str, str] = {}
    by_division: dict[str, dict[str, None]] = defaultdict(dict)
    division_members: dict[str, dict[str, None]] = defaultdict(dict)
    towns: dict[str, None] = {}
    regions: dict[str, None] = {}
    certifications: dict[str, None] = {}
    radii = []
    for m in members:
        if m.profile is None:
            continue
        for tag in {c.lower(): c for c in m.capabilities}.items():
            capability_counts[tag[0]] += 1
            display.setdefault(tag[0], tag[1])
        for row in m.profile.cpv_codes:
            by_division[row.code[:2]][row.code] = None
            division_members[row.code[:2]][m.organisation.name] = None
        if m.profile.town:
            towns[m.profile.town] = None
        if m.profile.region:
            regions[m.profile.region] = None
        if m.profile.service_radius_km:
            radii.append(m.profile.service_radius_km)
        for cert in m.profile.certifications:
            if today is None or cert.is_valid_on(today):
                certifications[cert.name] = None

    capabilities = sorted(((display[k], n) for k, n in capability_counts.items()),
                          key=lambda item: (-item[1], item[0].lower()))
    divisions = [
        DivisionCover(code=div, label=division_label(div),
                      codes=[(c, cpv.label(c) or c) for c in sorted(codes)],
                      members=sorted(division_members[div]))
        for div, codes in sorted(by_division.items())]
    return AllianceOverview(
        alliance=alliance, members=members, capabilities=capabilities, divisions=divisions,
        towns=sorted(towns), regions=sorted(regions), max_radius_km=max(radii, default=None),
        certifications=sorted(certifications),
        projects=confirmed_projects_for_alliance(alliance))
