"""Sealed bids (SECURITY 23): before the deadline nothing of a bid reaches anyone outside its
members — not the buyer, an outsider, an anonymous visitor or a site admin — on any page,
search, list, JSON, e-mail (admin outbox) or log line; not even the number of bids. After the
deadline the buyer sees the submitted bid.

Markers go into every bid field, the document name and the alliance's name; then every GET
route in ``app.url_map`` is crawled with real ids as each outsider. The pages are also
rendered before the bid existed and compared after it, so that a count (or any other trace)
cannot hide in a number that contains no marker.
"""

import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from marketplace.bids import services
from marketplace.extensions import db as _db
from marketplace.models import (
    Alliance,
    Bid,
    BidDocument,
    BidRole,
    EmailMessage,
    Notification,
    Organisation,
    Tender,
    User,
)
from tests.bidding import acting, build_team, make_alliance, make_tender

MARKERS = {
    "proposal": "quokka-sealed-proposal",
    "document": "wombat-sealed-document",
    "alliance": "numbat-sealed-alliance",
    "price": "7777123.45",
    "price_shown": "7,777,123.45",
}
QUERY = "quokka wombat numbat"
# The alliance's own public pages show its name, as they did before it bid; what must not
# appear there is anything tying it to this tender, which the other markers check.
ALLIANCE_NAME_PUBLIC = ("alliances.", "profiles.directory", "orgs.show",
                        "api.list_alliances", "api.get_alliance")


def leaks(text: str, endpoint: str) -> list[str]:
    found = [name for name, m in MARKERS.items() if m in text]
    if "alliance" in found and endpoint.startswith(ALLIANCE_NAME_PUBLIC):
        found.remove("alliance")
    return found


def candidate_values(app) -> dict[str, list]:
    ids = lambda model: list(_db.session.scalars(select(model.id)))  # noqa: E731
    return {
        "tender_id": ids(Tender), "bid_id": ids(Bid), "document_id": ids(BidDocument),
        "message_id": ids(EmailMessage), "notification_id": ids(Notification),
        "user_id": ids(User), "org_id": ids(Organisation),
        "slug": list(_db.session.scalars(select(Organisation.slug)))
        + list(_db.session.scalars(select(Alliance.slug))),
    }


def crawl(app, client) -> dict[str, tuple[str, str, int]]:
    """url -> (endpoint, body, status) for every GET route, with every real id."""
    values = candidate_values(app)
    pages = {}
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        args = sorted(rule.arguments)
        choices = [values.get(a, [1]) or [1] for a in args]
        for combo in itertools.islice(itertools.product(*choices), 60):
            url = adapter.build(rule.endpoint, dict(zip(args, combo, strict=True)))
            for query in ("", f"?q={QUERY}"):
                response = client.get(url + query)
                assert response.status_code < 500, url
                if response.status_code in (301, 302, 303):
                    continue
                pages[url + query] = (rule.endpoint, response.get_data(as_text=True),
                                      response.status_code)
    return pages


def normalise(text: str) -> str:
    # The crawler's own login redirects pile up this flash until some public page shows it;
    # how many depends on how many ids exist, not on what anyone may see.
    text = re.sub(r'<p class="flash flash-info">Please log in to see that page.</p>\s*', "",
                  text)
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "csrf", text)
    text = re.sub(r'value="[^"]*"\s+name="csrf_token"', "csrf", text)
    return re.sub(r"\d+ (?:days?|hours?|minutes?|seconds?)", "T", text)


@pytest.fixture
def world(app, db, make_user, make_org):
    deadline = datetime.now(UTC) + timedelta(days=2)
    team = build_team(app, make_user, make_org, partners=1, deadline=deadline)
    alliance = make_alliance(f"The {MARKERS['alliance']} group", team.lead, team.partners[0])
    outsider = make_user(name="Olly Outsider")
    make_org(outsider, name="Outsider Ltd")
    admin = make_user(name="Ada Admin", site_admin=True)
    # A rival's draft exists from the start, so "some bid exists" is not what we measure.
    return dict(team=team, alliance=alliance, outsider=outsider, admin=admin,
                deadline=deadline)


def place_bid(app, world) -> Bid:
    team, alliance = world["team"], world["alliance"]
    now = datetime.now(UTC)
    with acting(app, team.lead_owner):
        bid = services.create_bid(team.lead_owner, team.tender,
                                  f"alliance:{alliance.id}:{team.lead.id}", now)
        services.add_alliance_members(team.lead_owner, bid.id, bid.version, now)
        services.add_document(team.lead_owner, bid.id, bid.version,
                              filename=f"{MARKERS['document']}.pdf",
                              stored_name="A" * 24 + ".pdf", content_type="application/pdf",
                              size=10, sha256="0" * 64, now=now)
        lines = [services.MemberLine(m.organisation_id, m.role, Decimal(50))
                 for m in bid.members]
        services.update_bid(team.lead_owner, bid.id, bid.version,
                            price=Decimal(MARKERS["price"]), currency="GBP",
                            proposal=f"Our plan: {MARKERS['proposal']}.", members=lines,
                            now=now)
        services.request_approval(team.lead_owner, bid.id, bid.version, now)
        _db.session.commit()
    for owner, org in ((team.lead_owner, team.lead), (team.partner_owners[0],
                                                      team.partners[0])):
        with acting(app, owner):
            services.approve(owner, bid.id, org.id, bid.version, datetime.now(UTC))
            _db.session.commit()
    assert bid.state.value == "submitted"
    assert [m.role for m in bid.members] == [BidRole.LEAD, BidRole.MEMBER]
    return bid


def actors(world):
    return {"buyer": world["team"].buyer_owner, "outsider": world["outsider"],
            "site admin": world["admin"], "anonymous": None}


def crawl_as(app, login_as, user):
    client = app.test_client()
    if user is not None:
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["auth_at"] = datetime.now(UTC).timestamp()
    return crawl(app, client)


def test_nothing_of_a_sealed_bid_reaches_outsiders(app, db, world, login_as, caplog):
    caplog.set_level("DEBUG")
    with time_machine.travel(world["deadline"] - timedelta(hours=1), tick=False):
        before = {name: crawl_as(app, login_as, user) for name, user in actors(world).items()}
        bid = place_bid(app, world)
        after = {name: crawl_as(app, login_as, user) for name, user in actors(world).items()}

    problems = []
    for name, pages in after.items():
        assert len(pages) > 20, (name, len(pages))
        for url, (endpoint, body, status) in pages.items():
            found = leaks(body, endpoint)
            if found:
                problems.append(f"{name} sees {found} at {url}")
            old = before[name].get(url)
            if old is not None and normalise(old[1]) != normalise(body) and not (
                    endpoint.startswith("admin.") and name == "site admin"
                    and "mail" not in endpoint):
                problems.append(f"{name}: {url} changed when the bid was placed")
            if re.search(rf"/bids/{bid.id}(/|$|\?)", url) and status != 404:
                problems.append(f"{name} got {status}, not 404, at {url}")
    assert not problems, "\n".join(problems)
    # The crawler itself visits the alliance's public pages, whose paths carry its slug.
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if "path=/alliances/" not in r.getMessage())
    assert not [m for m in MARKERS.values() if m in logged]
    # The members themselves did get the e-mails, hidden from the admin until the deadline.
    mails = db.session.scalars(select(EmailMessage)).all()
    assert any(MARKERS["price_shown"] in m.body_text for m in mails)
    assert all(m.sealed_tender_id == world["team"].tender.id for m in mails if "bid" in m.subject)


def test_after_the_deadline_the_buyer_sees_the_bid(app, db, world, login_as):
    with time_machine.travel(world["deadline"] - timedelta(hours=1), tick=False):
        bid = place_bid(app, world)
    with time_machine.travel(world["deadline"] + timedelta(seconds=1), tick=False):
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = world["team"].buyer_owner.get_id()
            session["_fresh"] = True
            session["auth_at"] = datetime.now(UTC).timestamp()
        text = client.get(f"/tenders/{world['team'].tender.id}/bids").get_data(as_text=True)
        assert MARKERS["price_shown"] in text and MARKERS["alliance"] in text
        assert MARKERS["document"] in text
        text = client.get(f"/bids/{bid.id}").get_data(as_text=True)
        assert MARKERS["proposal"] in text
        # The outsider still sees nothing.
        outsider = app.test_client()
        with outsider.session_transaction() as session:
            session["_user_id"] = world["outsider"].get_id()
        assert outsider.get(f"/bids/{bid.id}").status_code == 404
        # The admin outbox opens the envelopes once the deadline has passed.
        admin = app.test_client()
        with admin.session_transaction() as session:
            session["_user_id"] = world["admin"].get_id()
        assert "news about a bid" in admin.get("/admin/mail").get_data(as_text=True)


def test_bid_mail_stays_sealed_in_the_admin_outbox_when_the_deadline_moves(
        app, db, make_user, make_org, login_as, client):
    """The seal follows the tender's current deadline, not the one at queueing time."""

    admin = make_user(site_admin=True)
    buyer = make_org()
    start = datetime.now(UTC)
    tender = make_tender(buyer, deadline=start + timedelta(days=1))
    db.session.add(EmailMessage(to_address="bidder@example.com", subject="About your bid",
                                body_text="SEALED-MAIL-MARKER", sensitive=True,
                                sealed_tender_id=tender.id))
    db.session.commit()
    message_id = db.session.scalar(select(EmailMessage.id))
    tender.deadline = start + timedelta(days=3)  # terms changed: the deadline moved on
    db.session.commit()
    with time_machine.travel(start + timedelta(days=2), tick=False):
        login_as(admin)
        listing = client.get("/admin/mail")
        assert listing.status_code == 200
        assert "About your bid" not in listing.get_data(as_text=True)
        assert client.get(f"/admin/mail/{message_id}").status_code == 404
    with time_machine.travel(start + timedelta(days=3, seconds=1), tick=False):
        login_as(admin)
        listing = client.get("/admin/mail")
        assert "About your bid" in listing.get_data(as_text=True)
        shown = client.get(f"/admin/mail/{message_id}")
        assert shown.status_code == 200
        assert "SEALED-MAIL-MARKER" in shown.get_data(as_text=True)
