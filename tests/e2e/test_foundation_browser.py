"""The foundation in a real browser: accounts, organisations, invitations, on desktop and phone.

Each test uses its own e-mail addresses, so the tests share one live server without clashing.
Screenshots land in tests/e2e/screenshots/ for a person to look at.
"""

import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.models import OrgRole, User
from marketplace.orgs import services as org_services
from marketplace.passwords import hash_password
from tests.e2e.conftest import console_problems, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "a long test passphrase 42"
_n = count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_n)}-{id(_n) % 10_000}@example.com"


def flash_texts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".flash").all_inner_texts()]


def assert_clean_console(page: Page) -> None:
    problems = console_problems(page)
    assert not problems, problems
    assert not [p for p in problems if "Content Security Policy" in p]


def log_out(page: Page) -> None:
    # On a phone the log-out button sits inside the collapsed menu.
    menu = page.locator("details.nav-toggle")
    if not menu.evaluate("el => el.open") and page.locator(".nav-toggle > summary").is_visible():
        page.locator(".nav-toggle > summary").click()
    page.get_by_role("button", name="Log out").click()


def test_register_log_in_create_organisation_and_invite_on_desktop(live_server, desktop_page):
    page = desktop_page
    email = unique("owner")

    page.goto(live_server("/"))
    expect(page.locator("h1")).to_have_text(re.compile("Win the tenders"))
    expect(page.get_by_role("link", name="Join Guild").first).to_be_visible()
    screenshot(page, "home-desktop")

    page.get_by_role("link", name=re.compile("Join Guild")).first.click()
    expect(page.locator("h1")).to_have_text("Join Guild")
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("different")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".error-summary h2")).to_have_text("There is a problem")
    errors = page.locator(".field-error").all_inner_texts()
    assert any("valid e-mail" in e for e in errors), errors
    assert any("do not match" in e for e in errors), errors
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    # The summary takes focus so that screen readers announce it (static/js/app.js).
    expect(page.locator(".error-summary")).to_be_focused()
    screenshot(page, "register-errors-desktop")

    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Your name").fill("Olivia Owner")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Hello, Olivia Owner")
    assert any(f.startswith("Welcome to Guild!") for f in flash_texts(page))

    log_out(page)
    expect(page.locator(".flash")).to_have_text("You are logged out.")
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()

    page.get_by_role("link", name="Log in").first.click()
    expect(page.locator("h1")).to_have_text("Log in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Hello, Olivia Owner")
    expect(page.locator(".empty")).to_contain_text("not part of an organisation yet")

    page.get_by_role("link", name="New organisation").click()
    expect(page.locator("h1")).to_have_text("Create an organisation")
    page.get_by_label("Organisation name").fill("Severn Joinery Ltd")
    page.get_by_label("Short summary").fill("Bespoke joinery and shopfitting around Bristol.")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("h1")).to_have_text("Severn Joinery Ltd")
    assert "Severn Joinery Ltd is created, and you are its owner." in flash_texts(page)
    expect(page.locator(".acting-org")).to_contain_text("Severn Joinery Ltd")

    page.get_by_role("link", name="Members").first.click()
    expect(page.locator("h1")).to_have_text("Members")
    colleague = unique("colleague")
    page.get_by_label("E-mail address").fill(colleague)
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Invitation sent to {colleague}")
    expect(page.locator("section[aria-labelledby=pending-h]")).to_contain_text(colleague)
    screenshot(page, "org-members-desktop")

    page.locator(".site-nav").get_by_role("link", name="Dashboard").click()
    expect(page.locator("h1")).to_have_text("Hello, Olivia Owner")
    card = page.locator(".org-card", has_text="Severn Joinery Ltd")
    expect(card).to_contain_text("Your role: owner")
    expect(card.locator(".badge")).to_have_text("Acting for")
    screenshot(page, "dashboard-desktop")

    assert_clean_console(page)


def _owner_with_invitation(app, colleague_email: str) -> str:
    """An organisation that has invited ``colleague_email``; returns the organisation's name."""
    with app.test_request_context():
        owner = User(email=unique("phone-owner"), display_name="Priya Patel",
                     password_hash=hash_password(PASSWORD))
        db.session.add(owner)
        db.session.flush()
        org = org_services.create_organisation(
            owner, "Avon Electrical Co-op", "Domestic and commercial electrical work in Bath.")
        org_services.invite_member(owner, org, colleague_email, OrgRole.MEMBER, now())
        db.session.commit()
        return org.name


def test_colleague_joins_from_a_phone(live_server, phone_page):
    page = phone_page
    colleague = unique("phone-colleague")
    org_name = _owner_with_invitation(live_server.app, colleague)

    page.goto(live_server("/"))
    expect(page.locator("h1")).to_have_text(re.compile("Win the tenders"))
    # The menu is collapsed behind its toggle until opened, without any JavaScript.
    expect(page.locator(".site-nav")).to_be_hidden()
    screenshot(page, "home-phone")
    page.locator(".nav-toggle > summary").click()
    expect(page.locator(".site-nav")).to_be_visible()
    screenshot(page, "menu-open-phone", full_page=False)
    page.locator(".site-nav").get_by_role("link", name="Join Guild").click()
    expect(page.locator("h1")).to_have_text("Join Guild")

    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert page.locator(".field-error").count() >= 3
    screenshot(page, "register-errors-phone")

    page.get_by_label("E-mail address").fill(colleague)
    page.get_by_label("Your name").fill("Cara Colleague")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Hello, Cara Colleague")
    invitations = page.locator("section[aria-labelledby=inv-h]")
    expect(invitations).to_contain_text(f"{org_name} invites you to join as member")
    screenshot(page, "dashboard-invited-phone")

    invitations.get_by_role("button", name="Accept").click()
    expect(page.locator("h1")).to_have_text(org_name)
    expect(page.locator(".flash-success")).to_have_text(f"You joined {org_name}.")

    page.locator(".nav-toggle > summary").click()
    expect(page.locator(".acting-org")).to_contain_text(org_name)
    screenshot(page, "menu-open-signed-in-phone", full_page=False)
    page.locator(".site-nav").get_by_role("link", name="Dashboard").click()
    expect(page.locator("h1")).to_have_text("Hello, Cara Colleague")
    expect(page.locator(".site-nav")).to_be_hidden()
    expect(page.locator(".org-card", has_text=org_name)).to_contain_text("Your role: member")
    screenshot(page, "dashboard-phone")

    page.locator(".org-card", has_text=org_name).get_by_role("link", name="Members").click()
    expect(page.locator("h1")).to_have_text("Members")
    expect(page.locator("table")).to_contain_text("Priya Patel")
    expect(page.locator("table")).to_contain_text("Cara Colleague")
    screenshot(page, "org-members-phone")

    # The phone layout must not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    log_out(page)
    expect(page.locator(".flash")).to_have_text("You are logged out.")
    assert_clean_console(page)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_error_pages_are_helpful(live_server, request, viewport):
    page = request.getfixturevalue(f"{viewport}_page")
    response = page.goto(live_server("/no-such-page"))
    assert response.status == 404
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.get_by_role("link", name=re.compile("home page"))).to_be_visible()
    screenshot(page, f"error-404-{viewport}")

    response = page.goto(live_server("/_e2e/crash"))
    assert response.status == 500
    expect(page.locator("h1")).to_have_text("Something went wrong")
    reference = page.locator("code.reference").inner_text()
    assert re.fullmatch(r"[0-9a-f]{12}", reference)
    assert "RuntimeError" not in page.content()
    screenshot(page, f"error-500-{viewport}")
    # Chrome logs the failed status of the document itself; anything else is a real problem.
    assert [p for p in console_problems(page) if not re.search(r"\b(404|500)\b", p)] == []


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_site_admin_pages(live_server, request, viewport):
    page = request.getfixturevalue(f"{viewport}_page")
    email = unique(f"admin-{viewport}")
    with live_server.app.app_context():
        db.session.add(User(email=email, display_name="Ada Admin", is_site_admin=True,
                            password_hash=hash_password(PASSWORD)))
        db.session.commit()

    page.goto(live_server("/login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Hello, Ada Admin")

    page.goto(live_server("/admin/users"))
    expect(page.locator("h1")).to_have_text("Users")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Users")
    expect(page.locator("table")).to_contain_text("Ada Admin")
    screenshot(page, f"admin-users-{viewport}")
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert_clean_console(page)


def test_header_fits_one_line_on_wide_screens(live_server, browser):
    """Every blueprint adds a nav entry; the widest header must still fit from 1200px up."""
    email = unique("wide-header")
    with live_server.app.test_request_context():
        user = User(email=email, display_name="Maximilian Longname-Whitfield", is_site_admin=True,
                    password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.flush()
        org_services.create_organisation(user, "Bristol & Bath Heritage Stonemasonry Co-operative")
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(live_server("/login"))
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator(".acting-org")).to_contain_text("Heritage Stonemasonry")
        for width in (1200, 1280, 1440):
            page.set_viewport_size({"width": width, "height": 800})
            header = page.locator(".site-header").bounding_box()
            last = page.locator(".nav-account li").last.bounding_box()
            brand = page.locator(".brand").bounding_box()
            first = page.locator(".nav-links li").first.bounding_box()
            assert header["height"] <= 72, (width, header)
            assert last["x"] + last["width"] <= width, (width, last)
            assert brand["x"] + brand["width"] < first["x"], (width, brand, first)
        screenshot(page, "header-wide-desktop", full_page=False)
    finally:
        context.close()
