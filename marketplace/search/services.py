"""View models for the search pages: index results turned into things a page can show.

The engine (:mod:`query`, :mod:`matching`) and the pipeline (:mod:`service`) answer with
index documents; this module maps their ids back to database objects (dropping anything no
longer public), turns a match's reasons into sentences, and feeds the team builder from the
database. No ranking happens here: the one scorer is ``service.matches_for_tender`` /
``service.tenders_for_organisation``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape
from sqlalchemy import func, or_, select

from marketplace import cpv as cpv_vocab
from marketplace.data.gazetteer import Town
from marketplace.extensions import db
from marketplace.geo import haversine_km
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    Certification,
    Organisation,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    Tender,
)
from marketplace.search import service, team_builder
from marketplace.search.team_builder import Candidate, Holdings, Requirement

log = logging.getLogger(__name__)

KIND_LABELS = {"organisation": "Business", "alliance": "Alliance", "tender": "Tender",
               "project": "Project"}
LEVEL_WORDS = {"class": "same class", "group": "same group", "division": "same division"}
# How much of a stored text to show when the highlighter found nothing to mark (the words
# matched a capability or a CPV label instead).
PLAIN_SNIPPET_CHARS = 180
PANEL_MATCHES = 8
# The team builder looks further down the scorer's list than the panel shows; resolving a
# match to its database row costs about 3 ms, so not further.
TEAM_CANDIDATES = 20
# Partners found in the database for a gap but outside the scorer's top list.
EXTRA_CANDIDATES = 40


# -------------------------------------------------------------- safe highlights

_MARK = re.compile(r"(</?mark>)")


def safe_snippet(fragment: str) -> Markup:
    """The engine's highlight as Markup, trusting nothing but bare ``<mark>`` tags.

    The engine escapes the text around its ``<mark>`` tags; this checks it: any other ``<``
    or ``>`` left means the text was not escaped, and then everything is escaped, marks
    included (ugly, but never markup from user text).
    """
    parts = _MARK.split(fragment or "")
    text_parts = parts[::2]
    if any("<" in p or ">" in p for p in text_parts):
        return escape(fragment)
    depth = 0
    for tag in parts[1::2]:
        depth += 1 if tag == "<mark>" else -1
        if depth not in (0, 1):
            return escape(fragment)
    if depth:
        return escape(fragment)
    return Markup(fragment)  # noqa: S704 - checked above: escaped text, <mark> only  # nosec B704


# -------------------------------------------------------------- the search page

@dataclass
class SearchParams:
    q: str = ""
    kind: str | None = None
    cpv_prefix: str | None = None
    town: Town | None = None
    within_km: int | None = None
    size: str | None = None
    cert: str | None = None
    status: str | None = None
    page: int = 1


@dataclass
class ResultView:
    kind: str
    kind_label: str
    title: str
    url: str
    place: str
    snippets: list[Markup]
    obj: object
    distance_km: float | None = None
    badges: list[str] = field(default_factory=list)


@dataclass
class SearchView:
    params: SearchParams
    results: list[ResultView]
    total: int
    counts: dict[str, int]
    page: int
    pages: int
    did_you_mean: str | None
    relaxed: bool
    fallback: bool

    # the pager macro's interface
    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _place_of(kind: str, obj) -> tuple[str, float | None, float | None]:
    if kind == "organisation":
        p = obj.profile
        return (p.town or "", p.lat, p.lon) if p else ("", None, None)
    if kind == "tender":
        return obj.town or obj.region or "", obj.lat, obj.lon
    if kind == "project":
        return obj.place or "", None, None
    return obj.service_area or "", None, None


def url_for_object(kind: str, obj) -> str:
    from flask import url_for

    if kind == "organisation":
        return url_for("orgs.show", slug=obj.slug)
    if kind == "alliance":
        return url_for("alliances.show", slug=obj.slug)
    if kind == "tender":
        return url_for("tenders.show", tender_id=obj.id)
    return url_for("projects.show", project_id=obj.id)


def _badges(kind: str, obj, today: date) -> list[str]:
    if kind == "tender":
        from marketplace.clock import now
        from marketplace.tenders.lifecycle import effective_status

        return [effective_status(obj, now()).value.capitalize()]
    if kind == "organisation" and obj.profile and obj.profile.size:
        return [obj.profile.size.value.capitalize()]
    if kind == "alliance":
        return [f"{len(obj.members)} members"]
    return []


def run_search(params: SearchParams, filters: dict, *, today: date, pagelen: int = 20
               ) -> SearchView:
    """The search box over every kind, mapped back to public database objects.

    ``filters`` come from ``service.filters_from_params`` on the page's canonical
    parameters, the same function saved-search alerts use."""
    found = service.search_page(params.q, kind=params.kind, filters=filters,
                                page=params.page, pagelen=pagelen)
    resolved = {r.match.doc_id: r for r in service.resolve(found.hits)}
    results = []
    for hit in found.hits:
        r = resolved.get(hit.doc_id)
        if r is None:  # hidden or unpublished since it was indexed
            continue
        place, lat, lon = _place_of(r.kind, r.obj)
        dist = None
        if params.town and lat is not None and lon is not None:
            dist = round(haversine_km(params.town.lat, params.town.lon, lat, lon), 1)
        snippets = [safe_snippet(hit.highlights[f]) for f in ("summary", "body")
                    if hit.highlights.get(f)] or _plain_snippet(r.kind, r.obj)
        results.append(ResultView(
            r.kind, KIND_LABELS.get(r.kind, r.kind), _title(r.kind, r.obj),
            url_for_object(r.kind, r.obj), place, snippets[:1] or [], r.obj, dist,
            _badges(r.kind, r.obj, today)))
    return SearchView(params, results, found.total, found.counts_by_kind, found.page,
                      found.pages, found.did_you_mean, found.relaxed, found.fallback)


def _plain_snippet(kind: str, obj) -> list[Markup]:
    text = getattr(obj, "summary", "") or ""
    if not text and kind in ("tender", "project"):
        text = obj.description or ""
    if not text and kind == "organisation" and obj.profile:
        text = obj.profile.description or ""
    text = " ".join(text.split())
    if len(text) > PLAIN_SNIPPET_CHARS:
        text = text[:PLAIN_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return [escape(text)] if text else []


def _title(kind: str, obj) -> str:
    return obj.title if kind in ("tender", "project") else obj.name


def matching_ids(q: str, kind: str, limit: int = 500) -> list[int] | None:
    """Ids of ``kind`` whose text matches ``q`` best first (for the directory and tender
    list, which keep their own SQL filters); ``None`` for an empty query."""
    if not (q or "").strip():
        return None
    found = service.search_page(q, kind=kind, page=1, pagelen=limit, counts=False,
                                highlights=False, suggest_below=0)
    ids = []
    for hit in found.hits:
        p = service.parse_doc_id(hit.doc_id)
        if p and p[0] == kind:
            ids.append(p[1])
    return ids


# -------------------------------------------------------------- explanations

@dataclass
class Reason:
    kind: str  # terms | cpv | cert | place | track
    text: str
    good: bool = True


@dataclass
class MatchView:
    kind: str
    kind_label: str
    title: str
    url: str
    obj: object
    score: float
    reasons: list[Reason]


def _join(words: list[str]) -> str:
    words = [w for w in words if w]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def cert_display_names(tender: Tender) -> dict[str, str]:
    """The index compares certifications lower-cased; pages show the tender's spelling."""
    return {team_builder.normalise_cert(r.value): r.value for r in tender.requirements
            if r.kind.value == "certification"}


def explain(match, *, direction: str = "tender", cert_names: dict[str, str] | None = None
            ) -> list[Reason]:
    """A match's reasons as short sentences.

    ``direction="tender"``: a firm or alliance for a tender ("their", "its service area");
    ``"organisation"``: a tender for my organisation ("your codes", "your radius").
    ``cert_names`` maps normalised certification names to the tender's own spelling.
    """
    r = match.reasons
    yours = direction == "organisation"
    names = cert_names or {}
    covered = [names.get(c, c) for c in r.certifications_covered]
    missing = [names.get(c, c) for c in r.certifications_missing]
    out: list[Reason] = []
    if r.terms:
        out.append(Reason("terms", "Mentions " + _join([f"“{t}”" for t in r.terms[:6]])))
    seen = set()
    for o in r.cpv[:3]:
        if o.prefix in seen:
            continue
        seen.add(o.prefix)
        whose = "your" if yours else ("its" if match.kind == "alliance" else "their")
        label = o.label or cpv_vocab.prefix_label(o.prefix) or ""
        text = (f"{LEVEL_WORDS.get(o.level, o.level).capitalize()} of CPV as the tender: "
                f"{o.prefix} {label} ({whose} code {o.code})")
        if r.cpv_inferred:
            text += " (the tender's codes were inferred from its text)"
        out.append(Reason("cpv", text))
    if covered:
        subj = "You hold" if yours else "Holds"
        out.append(Reason("cert", f"{subj} the required {_join(covered)}"))
    if missing:
        subj = "You lack" if yours else "Lacks"
        out.append(Reason("cert", f"{subj} {_join(missing)}", good=False))
    if r.distance_km is not None:
        radius = f"{r.radius_km:g} km" if r.radius_km is not None else "the"
        area = "your" if yours else "its"
        if r.within_radius:
            out.append(Reason("place", f"{r.distance_km:g} km away, within {area} {radius} "
                                       "service area"))
        else:
            out.append(Reason("place", f"{r.distance_km:g} km away, outside {area} {radius} "
                                       "service area", good=False))
    if r.track_record and not yours:
        n = r.track_record
        out.append(Reason("track", f"{n} confirmed project{'s' if n != 1 else ''} with partners"))
    return out


def _match_views(found, direction: str, tender: Tender | None = None) -> list[MatchView]:
    out = []
    fixed = cert_display_names(tender) if tender is not None else None
    for r in service.resolve(found):
        names = fixed if fixed is not None else (
            cert_display_names(r.obj) if r.kind == "tender" else None)
        out.append(MatchView(r.kind, KIND_LABELS.get(r.kind, r.kind), _title(r.kind, r.obj),
                             url_for_object(r.kind, r.obj), r.obj, r.match.score,
                             explain(r.match, direction=direction, cert_names=names)))
    return out


def tenders_for_you(org: Organisation | None, top: int = 5) -> list[MatchView]:
    if org is None:
        return []
    try:
        found = service.tenders_for_organisation(org, top=top)
    except Exception:  # the dashboard must render even if the index is unavailable
        log.exception("tenders for organisation %s failed", org.id)
        return []
    return _match_views(found, "organisation")


# -------------------------------------------------------------- tender page

@dataclass
class PartnerSuggestion:
    kind: str
    obj: object
    url: str
    fills: list[str]
    also: list[str]
    distance_km: float | None
    score: float
    bid_url: str | None = None
    alliance_invites: list[tuple[str, str]] = field(default_factory=list)  # (name, url)
    in_alliance: bool = False


@dataclass
class TeamView:
    org: Organisation
    gaps: list[str]
    covered_all: bool
    suggestions: list[PartnerSuggestion]
    alliance: PartnerSuggestion | None
    uncovered: list[str]
    has_requirements: bool
    can_invite: bool


@dataclass
class TenderPanels:
    matches: list[MatchView]
    team: TeamView | None


def requirement_label(r: Requirement) -> str:
    if r.kind == "cpv":
        return f"CPV {r.value} {cpv_vocab.label(r.value) or ''}".strip()
    if r.kind == "certification":
        return f"{r.value} certification"
    return r.value


def _holdings(profile: Profile | None, today: date) -> Holdings:
    if profile is None:
        return Holdings()
    return Holdings.of([c.tag for c in profile.capabilities],
                       [c.code for c in profile.cpv_codes],
                       [c.name for c in profile.certifications if c.is_valid_on(today)])


def _listed_profile(org: Organisation) -> bool:
    p = org.profile
    return org.hidden_at is None and not org.is_buyer and p is not None \
        and p.published_at is not None


def _distance(tender: Tender, profile: Profile | None) -> tuple[float | None, bool | None]:
    if profile is None or None in (tender.lat, tender.lon, profile.lat, profile.lon):
        return None, None
    d = round(haversine_km(tender.lat, tender.lon, profile.lat, profile.lon), 1)
    radius = profile.service_radius_km
    return d, (None if radius is None else d <= radius)


def _gap_holders(tender: Tender, gaps: list[Requirement], exclude: set[int], today: date
                 ) -> list[Organisation]:
    """Listed organisations holding at least one gap, found in SQL (the scorer's top list
    ranks by text and codes and can miss a firm that only brings a certification)."""
    conds = []
    for g in gaps:
        if g.kind == "certification":
            conds.append(select(Certification.id).where(
                Certification.profile_id == Profile.id,
                func.lower(Certification.name) == g.value.lower(),
                or_(Certification.valid_until.is_(None),
                    Certification.valid_until >= today)).exists())
        elif g.kind == "cpv":
            p = team_builder.cpv_prefix(g.value)
            conds.append(select(ProfileCpvCode.id).where(
                ProfileCpvCode.profile_id == Profile.id,
                or_(ProfileCpvCode.code.like(p + "%"),
                    *[ProfileCpvCode.code == p[:n].ljust(8, "0")
                      for n in range(2, len(p))])).exists())
        else:
            conds.append(select(ProfileCapability.id).where(
                ProfileCapability.profile_id == Profile.id,
                func.lower(ProfileCapability.tag) == g.value.lower()).exists())
    if not conds:
        return []
    return list(db.session.scalars(
        select(Organisation).join(Profile, Profile.organisation_id == Organisation.id)
        .where(Profile.published_at.is_not(None), Organisation.hidden_at.is_(None),
               Organisation.is_buyer.is_(False), Organisation.id.not_in(exclude or {0}),
               or_(*conds))
        .order_by(Organisation.id).limit(EXTRA_CANDIDATES)))


def _led_alliances(user, org: Organisation) -> list[Alliance]:
    from marketplace.permissions import can_lead_alliance

    rows = db.session.scalars(
        select(Alliance).join(AllianceMember, AllianceMember.alliance_id == Alliance.id)
        .where(AllianceMember.organisation_id == org.id,
               AllianceMember.role == AllianceRole.LEAD, Alliance.dissolved_at.is_(None))
        .order_by(Alliance.name))
    return [a for a in rows if can_lead_alliance(user, a)]


def build_team_view(user, tender: Tender, org: Organisation, matches, today: date
                    ) -> TeamView:
    from flask import url_for

    from marketplace.permissions import can_bid_for

    reqs = [Requirement(r.kind.value, r.value) for r in tender.requirements]
    gaps = team_builder.gaps(reqs, _holdings(org.profile, today))
    can_invite = can_bid_for(user, org, tender)
    view = TeamView(org, [requirement_label(g) for g in gaps], bool(reqs) and not gaps, [],
                    None, [], bool(reqs), can_invite)
    if not gaps:
        return view
    exclude = {org.id, tender.buyer_id}
    orgs: dict[int, Organisation] = {}
    scores: dict[str, float] = {}
    alliances: dict[int, Alliance] = {}
    for m in matches:
        if m.kind == "organisation" and m.obj.id not in exclude and _listed_profile(m.obj):
            orgs[m.obj.id] = m.obj
            scores[f"org:{m.obj.id}"] = m.score
        elif m.kind == "alliance":
            alliances[m.obj.id] = m.obj
            scores[f"alliance:{m.obj.id}"] = m.score
    for extra in _gap_holders(tender, gaps, exclude | set(orgs), today):
        orgs.setdefault(extra.id, extra)
    candidates = []
    for o in orgs.values():
        d, within = _distance(tender, o.profile)
        if within is False:  # not local: the tender is outside their service area
            continue
        candidates.append(Candidate(f"org:{o.id}", _holdings(o.profile, today),
                                    scores.get(f"org:{o.id}", 0.0), d))
    plan = team_builder.build_team(gaps, candidates)
    led = _led_alliances(user, org) if can_invite else []
    for pick in plan.picks:
        o = orgs[int(pick.candidate.key.split(":")[1])]
        view.suggestions.append(PartnerSuggestion(
            "organisation", o, url_for("orgs.show", slug=o.slug),
            [requirement_label(r) for r in pick.fills],
            [requirement_label(r) for r in pick.also], pick.candidate.distance_km,
            pick.candidate.score,
            url_for("bids.new", tender_id=tender.id, member=o.slug) if can_invite else None,
            [(a.name, url_for("alliances.members", slug=a.slug, invite=o.slug))
             for a in led if not any(m.organisation_id == o.id for m in a.members)]))
    view.uncovered = [requirement_label(r) for r in plan.uncovered]
    alliance_cands = []
    for a in alliances.values():
        union = Holdings()
        for m in a.members:
            if m.organisation_id != org.id and _listed_profile(m.organisation):
                union = union | _holdings(m.organisation.profile, today)
        alliance_cands.append(Candidate(f"alliance:{a.id}", union,
                                        scores.get(f"alliance:{a.id}", 0.0)))
    best = team_builder.best_alliance(gaps, alliance_cands)
    if best is not None:
        a = alliances[int(best.candidate.key.split(":")[1])]
        mine = any(m.organisation_id == org.id for m in a.members)
        view.alliance = PartnerSuggestion(
            "alliance", a, url_for("alliances.show", slug=a.slug),
            [requirement_label(r) for r in best.fills], [], None, best.candidate.score,
            url_for("bids.new", tender_id=tender.id) if (can_invite and mine) else None,
            in_alliance=mine)
    return view


def tender_panels(user, tender: Tender, acting: Organisation | None, today: date
                  ) -> TenderPanels:
    """The matching panel (everyone who sees the tender) and the team builder (for the
    organisation the user acts for, unless it is the buyer)."""
    wants_team = acting is not None and acting.id != tender.buyer_id
    try:
        found = service.matches_for_tender(
            tender, top=TEAM_CANDIDATES if wants_team else PANEL_MATCHES)
        views = _match_views(found, "tender", tender)
    except Exception:  # the tender page must render even if the index is unavailable
        log.exception("matches for tender %s failed", tender.id)
        views = []
    team = build_team_view(user, tender, acting, views, today) if wants_team else None
    return TenderPanels(views[:PANEL_MATCHES], team)

