"""Two firms form an alliance in real browsers: one invites, the other accepts from its
dashboard; a joint project is credited, confirmed and shown on the alliance page, which is
screenshotted on desktop and phone for people to look at."""

import re
from datetime import UTC, datetime
from itertools import count

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from marketplace.extensions import db
from marketplace.models import (
    Membership,
    Organisation,
    OrgRole,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    User,
)
from marketplace.passwords import hash_password
from tests.e2e.conftest import DESKTOP, PHONE, console_problems, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "a long test passphrase 42"
_n = count(1)

FIRMS = [
    ("Lansdown Stone", "Bath", ["stone masonry", "lime plastering", "heritage repairs"],
     ["45262522", "45453100"]),
    ("Barnhouse Joinery", "Bradford-on-Avon", ["sash window repair", "bespoke joinery",
                                               "heritage repairs"], ["45421000"]),
]


def _firm(app, name: str, town: str, caps: list[str], codes: list[str]) -> tuple[str, str]:
    n = next(_n)
    email = f"alliance-e2e{n}-{id(_n) % 10_000}@example.com"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()) + f"-{n}"
    with app.app_context():
        user = User(email=email, display_name=f"{name.split()[0]} Owner",
                    password_hash=hash_password(PASSWORD))
        org = Organisation(name=name, slug=slug, summary=f"{caps[0].capitalize()} in {town}.")
        org.memberships.append(Membership(user=user, role=OrgRole.OWNER))
        org.profile = Profile(town=town, region="South West", service_radius_km=40,
                              published_at=datetime.now(UTC),
                              capabilities=[ProfileCapability(tag=c) for c in caps],
                              cpv_codes=[ProfileCpvCode(code=c) for c in codes])
        db.session.add(org)
        db.session.commit()
    return email, slug


def _photo(tmp_path, name: str, colours) -> str:
    """A stand-in site photo: a sky, a stone wall and windows, drawn with Pillow."""
    image = Image.new("RGB", (1500, 1000), colours[0])
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 1500, 1000), fill=colours[1])
    for x in range(120, 1500, 300):
        draw.rectangle((x, 480, x + 150, 760), fill=(60, 70, 80))
        draw.rectangle((x + 70, 480, x + 80, 760), fill=colours[2])
    for y in range(400, 1000, 60):
        draw.line((0, y, 1500, y), fill=colours[2], width=3)
    path = tmp_path / name
    image.save(path, "JPEG", quality=90)
    return str(path)


def _log_in(page: Page, live_server, email: str) -> None:
    page.goto(live_server("/login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_contain_text("Hello")


def _flash(page: Page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def test_invite_accept_credit_confirm_and_alliance_page(live_server, browser, tmp_path):
    app = live_server.app
    lead_email, _ = _firm(app, *FIRMS[0])
    partner_email, partner_slug = _firm(app, *FIRMS[1])
    lead_ctx = browser.new_context(**DESKTOP)
    partner_ctx = browser.new_context(**DESKTOP)
    lead, partner = lead_ctx.new_page(), partner_ctx.new_page()
    for p in (lead, partner):
        p.console_errors = []
        p.on("console", lambda msg, p=p: msg.type in ("error", "warning")
             and p.console_errors.append(f"{msg.type}: {msg.text}"))
    try:
        # The lead firm starts the alliance and invites its partner.
        _log_in(lead, live_server, lead_email)
        lead.get_by_role("link", name="Alliances").first.click()
        expect(lead.locator("h1")).to_have_text("Alliances")
        lead.get_by_role("link", name="Start an alliance").first.click()
        lead.get_by_label("Alliance name").fill("Bath Heritage Repair Alliance")
        lead.get_by_label("Short summary").fill(
            "Stone, lime and joinery for listed buildings in and around Bath.")
        lead.get_by_label("Description").fill(
            "Masons and joiners who have worked side by side for years.\n\n"
            "- Lime mortars and stone repair\n- Sash windows and panelled doors")
        lead.get_by_label("Service area").fill("Bath and West Wiltshire")
        lead.get_by_role("button", name="Create alliance").click()
        expect(lead.locator("h1")).to_have_text("Members")
        assert "is created" in _flash(lead)
        lead.get_by_role("combobox", name="Organisation").fill("Barnhouse Joinery")
        lead.get_by_label("Message (optional)").fill("Join us for the council framework?")
        lead.get_by_role("button", name="Send invitation").click()
        expect(lead.locator(".flash-success")).to_contain_text("Invitation sent to Barnhouse")
        expect(lead.locator("#pending-h + .list")).to_contain_text("Barnhouse Joinery")
        screenshot(lead, "alliance-members-desktop")

        # The partner's owner sees the invitation on the dashboard and accepts.
        _log_in(partner, live_server, partner_email)
        inbox = partner.locator(".collab-inbox")
        expect(inbox).to_contain_text("Bath Heritage Repair Alliance")
        expect(inbox).to_contain_text("Join us for the council framework?")
        screenshot(partner, "alliance-invitation-dashboard-desktop")
        inbox.get_by_role("button", name="Accept").click()
        expect(partner.locator("h1")).to_have_text("Bath Heritage Repair Alliance")
        expect(partner.locator(".member-row", has_text="Barnhouse Joinery")).to_contain_text(
            "member")

        # The lead posts a finished job and credits the partner.
        lead.goto(live_server("/projects/new"))
        lead.get_by_label("Title").fill("Guildhall east front repairs")
        lead.get_by_label("Description").fill(
            "Survey and repair of the east elevation: stone indents, lime repointing and "
            "the repair of twelve sash windows, all under listed building consent.")
        lead.get_by_label("Year finished").fill("2024")
        lead.get_by_label("Place").fill("Bath")
        lead.get_by_label("Client (optional)").fill("Bath & North East Somerset Council")
        lead.get_by_label("Contract value (optional)").fill("186000")
        lead.get_by_label("Your organisation's role").fill("Stone repair")
        lead.locator("#partners-0-organisation").fill("Barnhouse Joinery")
        lead.locator("#partners-0-role").fill("Sash window repairs")
        lead.get_by_role("button", name="Post project").click()
        expect(lead.locator("h1")).to_have_text("Guildhall east front repairs")
        expect(lead.locator(".notice")).to_contain_text("Not shown publicly yet")
        for name, colours in (("front.jpg", ((176, 200, 222), (214, 196, 160), (170, 150,
                                                                                 115))),
                              ("sash.jpg", ((150, 180, 210), (200, 184, 150), (120, 96, 70)))):
            lead.get_by_label("Photo", exact=True).set_input_files(_photo(tmp_path, name,
                                                                          colours))
            lead.get_by_label("Caption (optional)").fill(
                "East front after repair" if name == "front.jpg" else "Repaired sashes")
            lead.get_by_role("button", name="Upload photo").click()
            expect(lead.locator(".flash-success")).to_have_text("Photo added.")
        project_url = lead.url

        # Not public yet: an anonymous visitor gets a 404.
        anonymous = browser.new_context(**DESKTOP)
        try:
            assert anonymous.new_page().goto(project_url).status == 404
        finally:
            anonymous.close()

        # The partner confirms its credit from the dashboard.
        partner.goto(live_server("/dashboard"))
        partner.locator(".collab-inbox").get_by_role("link",
                                                     name="Review and confirm").click()
        expect(partner.locator("#answer")).to_contain_text("Sash window repairs")
        partner.locator("#answer").get_by_role("button", name="Confirm").click()
        expect(partner.locator(".flash-success")).to_contain_text("Confirmed")

        # The lead puts the project in the alliance's portfolio.
        lead.goto(project_url)
        lead.get_by_role("combobox", name="Alliance").select_option(
            label="Bath Heritage Repair Alliance")
        lead.locator("[aria-labelledby=alliance-h]").get_by_role("button", name="Save").click()
        expect(lead.locator(".flash-success")).to_contain_text("portfolio")

        # The alliance page, as anyone sees it.
        lead.get_by_role("link", name="Bath Heritage Repair Alliance").first.click()
        alliance_url = lead.url
        expect(lead.locator(".project-card h3")).to_have_text("Guildhall east front repairs")
        expect(lead.locator(".activity")).to_contain_text("confirmed working with")
        expect(lead.locator(".division-code")).to_have_count(1)
        screenshot(lead, "alliance-page-lead-desktop")
        for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx = browser.new_context(**options)
            try:
                page = ctx.new_page()
                page.console_errors = []
                page.on("console", lambda msg, page=page: msg.type in ("error", "warning")
                        and page.console_errors.append(msg.text))
                response = page.goto(alliance_url)
                assert response.status == 200
                expect(page.locator("h1")).to_have_text("Bath Heritage Repair Alliance")
                expect(page.locator(".member-row")).to_have_count(2)
                expect(page.locator(".project-card img")).to_be_visible()
                screenshot(page, f"alliance-page-{name}")
                if name == "phone":
                    assert page.evaluate("document.documentElement.scrollWidth") <= 390
                page.goto(project_url)
                expect(page.locator(".project-photo img")).to_have_count(2)
                screenshot(page, f"project-page-{name}")
                assert console_problems(page) == []
            finally:
                ctx.close()
        partner.goto(live_server(f"/orgs/{partner_slug}/projects"))
        expect(partner.locator(".project-card h3")).to_have_text("Guildhall east front repairs")
        assert lead.console_errors == [] and partner.console_errors == []
    finally:
        lead_ctx.close()
        partner_ctx.close()
