"""Browser-test fixtures: a real server on a free port, Debian's Chromium driven by Playwright.

The live server has its own SQLite file and CSRF switched on, so the browser submits the same
forms a visitor would. Tests reach the database through ``live_server.app``.
"""

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from marketplace.extensions import db
from tests.conftest import build_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str = "/") -> str:
        """``live_server("/login")`` gives the absolute URL of a path."""
        return self.url + path

    def __str__(self) -> str:
        return self.url


def _add_failing_route(app: Flask) -> None:
    """A route that crashes, on the e2e app only, so the 500 page can be seen in a browser."""

    @app.route("/_e2e/crash")
    def _e2e_crash():
        raise RuntimeError("deliberate crash for the browser test")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("e2e")
    app = build_app(f"sqlite:///{root / 'e2e.sqlite'}", str(root / "instance"),
                    WTF_CSRF_ENABLED=True, ERRORS_RAISE=False)
    _add_failing_route(app)
    with app.app_context():
        db.create_all()
        from marketplace.cpv import load_cpv_codes

        load_cpv_codes()
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


# Module scope, not session: a Playwright sync loop left running would stop any module that
# starts its own Playwright (Playwright's sync API cannot run inside a running loop).
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _new_page(browser, **context_options):
    """A page in a fresh context (own cookies) that records console errors and CSP reports."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type in ("error", "warning")
            and page.console_errors.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: page.console_errors.append(f"pageerror: {exc}"))
    return context, page


@pytest.fixture
def desktop_page(browser):
    context, page = _new_page(browser, **DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context, page = _new_page(browser, **PHONE)
    yield page
    context.close()


@pytest.fixture
def page(desktop_page):
    return desktop_page


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG under tests/e2e/screenshots/ (git-ignored) for people to look at.

    Transitions are finished first, so a menu caught mid-animation never looks broken.
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def console_problems(page) -> list[str]:
    """Console errors, warnings and CSP violations seen so far; Chrome reports CSP there."""
    return list(page.console_errors)
