"""Team builder: gap finding and the minimal covering team (pure functions), then the panel
on the tender page for the organisation the user acts for."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace.search.team_builder import (
    Candidate,
    Holdings,
    Requirement,
    best_alliance,
    build_team,
    covers,
    gaps,
)
from tests.conftest import html
from tests.search.ui_helpers import (
    BATH,
    BRISTOL,
    SWINDON,
    TODAY,
    alliance,
    business,
    index_now,
    tender,
)

ROOF = Requirement("capability", "flat roofing")
SCAFF = Requirement("capability", "scaffolding")
ELEC = Requirement("capability", "electrical installation")
CPV_ROOF = Requirement("cpv", "45261000")
ISO = Requirement("certification", "ISO 14001")


def cand(key, caps=(), codes=(), certs=(), score=0.5, km=5.0):
    return Candidate(key, Holdings.of(caps, codes, certs), score, km)


def test_capabilities_match_on_stemmed_words_either_way():
    assert covers(Holdings.of(["Roofing"]), ROOF)  # broader capability
    assert covers(Holdings.of(["flat roofs and roofing"]), ROOF)
    assert covers(Holdings.of(["flat roofing"]), Requirement("capability", "roofing"))
    assert not covers(Holdings.of(["plumbing"]), ROOF)
    assert not covers(Holdings.of([]), ROOF)


def test_cpv_covered_along_the_hierarchy_only():
    assert covers(Holdings.of(cpv_codes=["45261000"]), CPV_ROOF)  # same code
    assert covers(Holdings.of(cpv_codes=["45260000"]), CPV_ROOF)  # its class
    assert covers(Holdings.of(cpv_codes=["45000000"]), CPV_ROOF)  # its division
    assert covers(Holdings.of(cpv_codes=["45261200"]), CPV_ROOF)  # a finer code under it
    assert not covers(Holdings.of(cpv_codes=["45310000"]), CPV_ROOF)  # sibling group
    assert not covers(Holdings.of(cpv_codes=["72000000"]), CPV_ROOF)


def test_certifications_by_normalised_name():
    assert covers(Holdings.of(certifications=["iso  14001"]), ISO)
    assert not covers(Holdings.of(certifications=["ISO 9001"]), ISO)


def test_gaps_are_what_i_lack_in_tender_order_without_repeats():
    mine = Holdings.of(["roofing"], ["45261000"], ["ISO 9001"])
    needed = [ROOF, SCAFF, CPV_ROOF, ISO, Requirement("capability", "Scaffolding")]
    assert gaps(needed, mine) == [SCAFF, ISO]


def test_greedy_takes_the_partner_filling_most_gaps_then_score_then_distance():
    needed = [SCAFF, ELEC, ISO]
    plan = build_team(needed, [
        cand("org:a", caps=["scaffolding"], score=0.9, km=2),
        cand("org:b", caps=["scaffolding", "electrical installation"], score=0.4, km=20),
        cand("org:c", certs=["ISO 14001"], score=0.2, km=30),
        cand("org:d", certs=["ISO 14001"], score=0.2, km=3),
    ])
    assert [p.candidate.key for p in plan.picks] == ["org:b", "org:d"]
    assert plan.picks[0].fills == [SCAFF, ELEC]
    assert plan.picks[1].fills == [ISO]
    assert plan.complete and plan.uncovered == []


def test_minimal_team_beats_greedys_trap():
    # Greedy takes the big "x" first, then needs two more; "left" + "right" do it with two.
    r = [Requirement("capability", w) for w in ("alpha", "beta", "gamma", "delta",
                                                "epsilon", "zeta")]
    plan = build_team(r, [
        cand("org:x", caps=["alpha", "beta", "delta", "epsilon"], score=0.9),
        cand("org:left", caps=["alpha", "beta", "gamma"], score=0.5),
        cand("org:right", caps=["delta", "epsilon", "zeta"], score=0.5),
    ])
    assert sorted(p.candidate.key for p in plan.picks) == ["org:left", "org:right"]
    assert plan.complete


def test_at_most_three_partners_and_uncovered_gaps_reported():
    r = [Requirement("capability", w) for w in ("alpha", "beta", "gamma", "delta", "omega")]
    plan = build_team(r, [cand(f"org:{w}", caps=[w]) for w in ("alpha", "beta", "gamma",
                                                                  "delta")])
    assert len(plan.picks) == 3
    assert Requirement("capability", "omega") in plan.uncovered
    assert not plan.complete


def test_no_gaps_means_no_team():
    plan = build_team([], [cand("org:a", caps=["x"])])
    assert plan.picks == [] and not plan.complete


def test_a_candidate_covering_nothing_is_never_suggested():
    plan = build_team([ISO], [cand("org:a", caps=["roofing"], score=1.0)])
    assert plan.picks == [] and plan.uncovered == [ISO]


def test_best_alliance_covers_most_gaps_on_its_members_union():
    union = Holdings.of(["scaffolding"]) | Holdings.of(certifications=["ISO 14001"])
    pick = best_alliance([SCAFF, ISO, ELEC], [
        Candidate("alliance:1", union, 0.3, 10),
        Candidate("alliance:2", Holdings.of(["scaffolding"]), 0.9, 1),
    ])
    assert pick.candidate.key == "alliance:1" and pick.fills == [SCAFF, ISO]
    assert best_alliance([ELEC], [Candidate("alliance:2", Holdings.of(["x"]))]) is None


# -- on the tender page ------------------------------------------------------------------------

KEYNSHAM = (51.4135, -2.4968)


@pytest.fixture
def team_world(make_org, make_user):
    owner, plain = make_user(), make_user()
    me = business(make_org, "Bristol Roofing", owner=owner, members={plain: "member"},
                  town="Bristol", place=BRISTOL, tags=["flat roofing"], cpv=["45261000"],
                  certs=["ISO 9001"], description="Roofing.")
    scaff = business(make_org, "Bath Scaffolds", town="Bath", place=BATH, radius=30,
                     tags=["scaffolding"], description="Scaffolding hire and erection.")
    elec = business(make_org, "Keynsham Electrics", town="Keynsham", place=KEYNSHAM,
                    radius=30, tags=["electrical installation"], certs=["ISO 14001"],
                    description="Electrical installation for schools.")
    business(make_org, "Swindon Allrounder", town="Swindon", place=SWINDON, radius=10,
             tags=["scaffolding", "electrical installation"], certs=["ISO 14001"],
             description="Everything, but only around Swindon.")
    business(make_org, "Lapsed Greens", town="Bath", place=BATH, radius=50,
             tags=["gardening"], certs=[("ISO 14001", TODAY - timedelta(days=1))],
             description="Certificate expired yesterday.")
    partner_for_alliance = business(make_org, "Bath Joinery", town="Bath", place=BATH,
                                    tags=["joinery"], description="Joinery.")
    mine = alliance("Bristol Builders", [me, partner_for_alliance])
    buyer = make_org(name="Bath Council", is_buyer=True)
    t = tender(buyer, "School roof and wiring works", description="Roof and wiring works.",
               cpv=["45261000"], place=BATH, town="Bath",
               requirements=[("capability", "flat roofing"), ("capability", "scaffolding"),
                             ("capability", "electrical installation"),
                             ("certification", "ISO 14001"), ("cpv", "45261000")])
    index_now()
    return {"owner": owner, "plain": plain, "me": me, "scaff": scaff, "elec": elec,
            "tender": t, "alliance": mine, "buyer": buyer}


def team_section(client, tender_id):
    return html(client.get(f"/tenders/{tender_id}")).select_one(".team-builder")


def test_shows_my_gaps_and_the_minimal_local_team(client, login_as, team_world):
    login_as(team_world["owner"])
    section = team_section(client, team_world["tender"].id)
    gaps = [li.get_text(strip=True) for li in section.select(".gap-list li")]
    assert gaps == ["scaffolding", "electrical installation", "ISO 14001 certification"]
    partners = section.select(".partner")
    names = [p.select_one("h4 a").get_text(strip=True) for p in partners]
    # Swindon Allrounder covers all three but the tender is outside its 10 km area;
    # Lapsed Greens' certificate has expired.
    assert sorted(names) == ["Bath Scaffolds", "Keynsham Electrics"]
    fills = {p.select_one("h4 a").get_text(strip=True):
             [c.get_text(strip=True) for c in p.select(".gap-chip")] for p in partners}
    assert fills["Keynsham Electrics"] == ["electrical installation", "ISO 14001 certification"]
    assert fills["Bath Scaffolds"] == ["scaffolding"]
    assert section.select_one(".notice") is None  # everything covered


def test_one_click_invites_to_a_bid_or_my_alliance(client, login_as, team_world):
    login_as(team_world["owner"])
    section = team_section(client, team_world["tender"].id)
    partner = next(p for p in section.select(".partner")
               if "Bath Scaffolds" in p.get_text())
    links = {a.get_text(strip=True): a["href"] for a in partner.select(".partner-actions a")}
    bid = urlsplit(links["Invite to a bid"])
    assert bid.path == f"/tenders/{team_world['tender'].id}/bids/new"
    assert parse_qs(bid.query) == {"member": [team_world["scaff"].slug]}
    invite = urlsplit(links["Invite to Bristol Builders"])
    assert invite.path == f"/alliances/{team_world['alliance'].slug}/members"
    assert parse_qs(invite.query) == {"invite": [team_world["scaff"].slug]}


def test_plain_members_see_gaps_but_cannot_invite(client, login_as, team_world):
    login_as(team_world["plain"])
    section = team_section(client, team_world["tender"].id)
    assert section.select(".gap-list li")
    assert section.select(".partner") and not section.select(".partner-actions")


def test_no_team_builder_for_visitors_or_the_buyer(client, login_as, team_world, make_user):
    assert team_section(client, team_world["tender"].id) is None
    buyer_user = team_world["buyer"].memberships[0].user
    login_as(buyer_user)
    assert team_section(client, team_world["tender"].id) is None


def test_covering_everything_says_so(client, login_as, make_org, make_user):
    owner = make_user()
    business(make_org, "Complete Co", owner=owner, tags=["scaffolding"], certs=["CHAS"],
             description="All of it.")
    buyer = make_org(name="Council", is_buyer=True)
    t = tender(buyer, "Scaffolding", description="Scaffold.",
               requirements=[("capability", "scaffolding"), ("certification", "CHAS")])
    index_now()
    login_as(owner)
    section = team_section(client, t.id)
    assert "covers every requirement" in section.get_text(" ", strip=True)
