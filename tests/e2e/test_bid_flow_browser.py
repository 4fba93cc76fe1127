"""The whole bid flow in a real browser: a buyer's open tender, a joint bid assembled by the
lead with a partner, approvals by both firms, the deadline passes (the live server's clock is
moved through its test-only offset), the buyer compares and awards. Screenshots land in
tests/e2e/screenshots/bid-*.png."""

import re
import shutil
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from marketplace.extensions import db
from tests.bidding import give_profile, make_tender
from tests.conftest import build_app
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, console_problems, screenshot

pytestmark = pytest.mark.e2e
PASSWORD = "a long test passphrase 42"


@pytest.fixture(scope="module")
def clocked_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e-bids")
    app = build_app(f"sqlite:///{root / 'bids.sqlite'}", str(root / "instance"),
                    WTF_CSRF_ENABLED=True, ERRORS_RAISE=False, TEST_CLOCK_OFFSET_ENABLED=True,
                    TEST_CLOCK_OFFSET=timedelta())
    with app.app_context():
        db.create_all()
        from marketplace.cpv import load_cpv_codes

        load_cpv_codes()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _setup(app):
    from marketplace.models import Membership, Organisation, OrgRole, User
    from marketplace.passwords import hash_password

    with app.app_context():
        def person(email, name):
            user = User(email=email, display_name=name, password_hash=hash_password(PASSWORD))
            db.session.add(user)
            return user

        def firm(owner, name, slug, **kw):
            org = Organisation(name=name, slug=slug, **kw)
            org.memberships.append(Membership(user=owner, role=OrgRole.OWNER))
            db.session.add(org)
            return org

        buyer = firm(person("buyer@council.example", "Beatrice Hale"), "Millbrook Council",
                     "millbrook-council", is_buyer=True)
        lead = firm(person("lena@slateandoak.example", "Lena Marsh"), "Slate & Oak Roofing",
                    "slate-and-oak")
        partner = firm(person("pat@scaffoldco.example", "Pat Doyle"), "Avon Scaffolding",
                       "avon-scaffolding")
        db.session.commit()
        give_profile(lead, capabilities=["roofing"], cpv=["45261000"])
        give_profile(partner, capabilities=["scaffolding"], cpv=["45262100"])
        deadline = datetime.now(UTC) + timedelta(hours=2)
        tender = make_tender(buyer, deadline=deadline,
                             title="Re-roofing of Millbrook Primary School",
                             requirements=[("capability", "roofing"),
                                           ("capability", "scaffolding"),
                                           ("cpv", "45260000")])
        tender.budget_max = Decimal("120000")
        db.session.commit()
        return tender.id


def log_in(page: Page, base: str, email: str) -> None:
    # Leave the page first: a late asset response from it would re-set the (refreshed,
    # permanent) session cookie after the clear, and we would still be logged in.
    page.goto("about:blank")
    page.context.clear_cookies()
    response = page.goto(base + "/login")
    assert response.status == 200, (response.status, page.url, page.content()[:2000])
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).not_to_have_text("Log in")


def approve(page: Page, base: str, bid_path: str, name: str) -> None:
    page.goto(base + bid_path + "/approve")
    expect(page.locator("h2").first).to_contain_text("what you approve")
    page.get_by_label("I have read this version").check()
    page.get_by_role("button", name=re.compile("Approve version")).click()


def test_joint_bid_from_draft_to_award(clocked_server, chromium):
    app, base = clocked_server
    tender_id = _setup(app)
    context = chromium.new_context(**DESKTOP)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type in ("error", "warning")
            and page.console_errors.append(m.text))

    # The lead starts the bid, adds the partner, shares the work and asks for approval.
    log_in(page, base, "lena@slateandoak.example")
    page.goto(f"{base}/tenders/{tender_id}/bids/new")
    page.get_by_role("button", name="Start a draft bid").click()
    expect(page.locator(".flash")).to_contain_text("Draft bid started")
    page.get_by_label("Organisation").fill("avon-scaffolding")
    page.get_by_role("button", name="Add to the bid").click()
    expect(page.locator(".flash")).to_contain_text("Avon Scaffolding added")
    page.get_by_label("Total price").fill("98500")
    page.get_by_label("Proposal").fill(
        "Slate & Oak strips and re-covers the three roof blocks in natural slate during the "
        "summer holidays; Avon Scaffolding erects and inspects the scaffold and edge "
        "protection. One site manager, weekly reports to the school.")
    page.get_by_label("Work share of Slate & Oak Roofing").fill("70")
    page.get_by_label("Work share of Avon Scaffolding").fill("30")
    screenshot(page, "bid-edit")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator(".flash")).to_contain_text("Saved as version")
    page.get_by_role("button", name="Ask members to approve").click()
    expect(page.locator(".flash")).to_contain_text("sent to every member organisation")
    bid_path = re.search(r"/bids/\d+", page.url).group(0)
    approve(page, base, bid_path, "Slate & Oak")
    expect(page.locator(".flash")).to_contain_text("Approved version")
    expect(page.locator(".bid-next")).to_contain_text("1 of 2 organisations have approved")
    screenshot(page, "bid-awaiting-approval")

    # The partner approves in its own session: the last approval submits the bid.
    log_in(page, base, "pat@scaffoldco.example")
    approve(page, base, bid_path, "Avon")
    expect(page.locator(".flash")).to_contain_text("the bid is submitted")
    expect(page.locator(".receipt")).to_contain_text("Content hash (SHA-256)")
    screenshot(page, "bid-receipt")

    # Before the deadline the buyer finds a sealed page, without even a count.
    log_in(page, base, "buyer@council.example")
    page.goto(f"{base}/tenders/{tender_id}/bids")
    expect(page.locator(".sealed-panel")).to_be_visible()
    assert "Slate" not in page.locator("main").inner_text()
    assert page.goto(base + bid_path).status == 404
    page.console_errors.clear()  # that 404 was the point

    # The deadline passes on the server's clock; the buyer compares and awards.
    app.config["TEST_CLOCK_OFFSET"] = timedelta(hours=3)
    log_in(page, base, "buyer@council.example")
    page.goto(f"{base}/tenders/{tender_id}/bids")
    card = page.locator(".bid-card").first
    expect(card).to_contain_text("Slate & Oak Roofing")
    expect(card).to_contain_text("98,500.00")
    expect(card).to_contain_text("Avon Scaffolding")
    screenshot(page, "bid-buyer-compare")
    card.get_by_role("link", name="Award…").click()
    screenshot(page, "bid-award-confirm")
    page.get_by_role("button", name="Award to this bid").click()
    expect(page.locator(".flash")).to_contain_text("Contract awarded")
    expect(page.locator(".bid-card").first).to_contain_text("Awarded")
    screenshot(page, "bid-awarded")

    log_in(page, base, "pat@scaffoldco.example")
    page.goto(base + bid_path)
    expect(page.locator(".bid-next")).to_contain_text("won the contract")
    screenshot(page, "bid-partner-outcome")
    assert not console_problems(page)
    context.close()
