"""A firm fills its capability profile in a real browser: details, a town from the
gazetteer, a CPV code through the typeahead, a certification and a logo; then the public
page (desktop and phone) and the directory are screenshotted for people to look at."""

import io
import re
from itertools import count

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from marketplace.extensions import db
from marketplace.models import Membership, Organisation, OrgRole, User
from marketplace.passwords import hash_password
from marketplace.profiles.logos import initials_logo
from tests.e2e.conftest import console_problems, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "a long test passphrase 42"
_n = count(1)

DESCRIPTION = """Selwood Roofing has looked after the roofs of Somerset and Wiltshire \
since 1998: listed farmhouses, schools, housing association estates and council depots.

What we are asked for most:

- **Slate and tile roofing**, including reclaimed and heritage materials
- Lead work: flashings, valleys, bays and gutters
- Flat roofing in EPDM and GRP with 20-year guarantees
- Roof insulation upgrades to current Building Regulations

Every job is run by a named supervisor, and we keep the site safe and tidy for \
schools and tenants who stay in occupation."""


def _owner(app) -> tuple[str, str]:
    n = next(_n)
    email, slug = f"profile-owner{n}-{id(_n) % 10_000}@example.com", f"selwood-roofing-{n}"
    with app.app_context():
        user = User(email=email, display_name="Rhys Morgan",
                    password_hash=hash_password(PASSWORD))
        org = Organisation(name="Selwood Roofing", slug=slug,
                           summary="Slate, tile, lead and flat roofing across Somerset "
                                   "and Wiltshire.")
        org.memberships.append(Membership(user=user, role=OrgRole.OWNER))
        db.session.add(org)
        db.session.commit()
    return email, slug


def _log_in(page: Page, live_server, email: str) -> None:
    page.goto(live_server("/login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_contain_text("Hello")


def _logo_file(tmp_path) -> str:
    path = tmp_path / "selwood.png"
    buffer = io.BytesIO()
    initials_logo("Selwood Roofing", size=400).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    with Image.open(path) as check:
        assert check.size == (400, 400)
    return str(path)


def test_fill_profile_pick_cpv_and_town_then_view_public_page(live_server, browser,
                                                              desktop_page, tmp_path):
    page = desktop_page
    email, slug = _owner(live_server.app)
    _log_in(page, live_server, email)

    # Details: every field, the town typed from the gazetteer list (no coordinates typed).
    page.goto(live_server(f"/orgs/{slug}/profile/edit"))
    expect(page.locator("h1")).to_have_text("Your capability profile")
    page.get_by_label("Description").fill(DESCRIPTION)
    page.get_by_label("Capabilities").fill("slate and tile roofing, lead work, flat roofing")
    page.get_by_label("Size").select_option("small")
    page.get_by_label("Employees").fill("14")
    page.get_by_label("Year founded").fill("1998")
    page.get_by_label("Website").fill("https://selwood-roofing.example")
    page.get_by_label("Contact person").fill("Rhys Morgan")
    page.get_by_label("Contact e-mail").fill("hello@selwood-roofing.example")
    page.get_by_label("Phone").fill("01373 960 123")
    town = page.get_by_label("Town")
    assert town.get_attribute("list") == "gazetteer-towns"
    assert page.locator("#gazetteer-towns option[value=Frome]").count() == 1
    town.fill("Frome")
    page.get_by_label("Postcode").fill("BA11 1AA")
    page.get_by_label("Service radius (km)").fill("40")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator(".flash")).to_contain_text("Profile saved")
    # The server filled coordinates and region from the gazetteer.
    expect(page.get_by_label("Latitude")).to_have_value(re.compile(r"^51\.2"))
    expect(page.get_by_label("Region")).to_have_value("South West")

    # CPV: the typeahead finds roof works as we type; one click adds the code.
    page.locator(".tabs").get_by_role("link", name="CPV codes").click()
    page.get_by_label("Search CPV codes").press_sequentially("roof work", delay=40)
    live = page.locator(".cpv-live")
    expect(live.locator("li").first).to_be_visible()
    live.get_by_role("button", name=re.compile(r"^Add 45261000 ")).click()
    expect(page.locator(".flash")).to_contain_text("Added 45261000")
    expect(page.locator("#current-h ~ ul")).to_contain_text("45261000")
    # And a suggestion, with the reason it was suggested.
    suggestion = page.locator("#suggest-h ~ ul li").first
    expect(suggestion).to_contain_text("Matched:")
    suggestion.get_by_role("button", name=re.compile("^Add ")).click()
    expect(page.locator(".flash")).to_contain_text("Added")
    screenshot(page, "profile-cpv-picker-desktop")

    # A certification and a logo.
    page.locator(".tabs").get_by_role("link", name="Certifications").click()
    page.get_by_role("textbox", name="Certification").fill("CHAS")
    page.get_by_label("Issued by").fill("CHAS")
    page.get_by_label("Certificate number").fill("CHAS-529301")
    page.get_by_label("Valid until").fill("2099-10-10")
    page.get_by_role("button", name="Add certification").click()
    expect(page.locator(".cert-list")).to_contain_text("CHAS")
    page.locator(".tabs").get_by_role("link", name="Logo").click()
    page.locator("input[type=file]").set_input_files(_logo_file(tmp_path))
    page.get_by_role("button", name="Upload logo").click()
    expect(page.locator(".flash")).to_contain_text("Logo updated")

    page.get_by_role("button", name="Publish profile").click()
    expect(page.locator(".flash")).to_contain_text("published")

    # The public page, as the owner sees it, then as a visitor on desktop and phone.
    expect(page.locator("h1")).to_have_text("Selwood Roofing")
    expect(page.locator(".org-logo")).to_have_js_property("naturalWidth", 256)
    public = page.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    visitor = context.new_page()
    visitor.goto(public)
    expect(visitor.locator(".capability-tags")).to_contain_text("lead work")
    expect(visitor.locator(".cpv-list")).to_contain_text("Roof works")
    expect(visitor.locator(".markdown strong").first).to_have_text("Slate and tile roofing")
    expect(visitor.locator(".service-area")).to_contain_text("40 km")
    expect(visitor.get_by_role("link", name="Log in to contact")).to_be_visible()
    screenshot(visitor, "profile-public-desktop")
    context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    mobile = phone.new_page()
    mobile.goto(public)
    expect(mobile.locator("h1")).to_have_text("Selwood Roofing")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(mobile, "profile-public-phone")
    mobile.goto(live_server("/businesses?near=Bath&within=50&sort=distance"))
    expect(mobile.locator(".business-card").first).to_be_visible()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(mobile, "directory-phone")
    phone.close()

    page.goto(live_server("/businesses?near=Bath&within=50&sort=distance"))
    expect(page.locator(".business-card h3").first).to_have_text("Selwood Roofing")
    expect(page.locator(".business-card").first).to_contain_text("km away")
    screenshot(page, "directory-desktop")
    assert not console_problems(page), console_problems(page)
