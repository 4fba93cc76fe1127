"""User Markdown is rendered, then sanitised: nothing that runs script gets through."""

import pytest
from bs4 import BeautifulSoup

from marketplace.markdown import render_markdown

HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "[x](https://ok.example \"title\" onmouseover=alert(1))",
    "<details open ontoggle=alert(1)>",
    "&#x6A;avascript:alert(1)",
    "[a](&#x6A;avascript:alert(1))",
    "<form action=https://evil.example><button>go</button></form>",
]


def _soup(source: str) -> BeautifulSoup:
    return BeautifulSoup(str(render_markdown(source)), "html.parser")


@pytest.mark.parametrize("source", HOSTILE)
def test_no_script_no_handlers_no_dangerous_urls(source):
    soup = _soup(source)
    for tag in soup.find_all(True):
        assert tag.name not in {"script", "iframe", "img", "svg", "form", "style", "details",
                                "object", "embed", "button", "div"}
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on")
            assert attr != "style"
            if attr == "href":
                assert value.split(":", 1)[0].lower() in {"http", "https", "mailto"}


def test_markup_renders():
    soup = _soup("## Heading\n\nSome **bold** and *italic*.\n\n- one\n- two\n\n"
                 "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~")
    # Headings are shifted below the page's own h1/h2.
    assert soup.find("h4").get_text() == "Heading"
    assert soup.find("strong").get_text() == "bold"
    assert [li.get_text() for li in soup.find_all("li")] == ["one", "two"]
    assert soup.find("table") is not None
    assert soup.find("s").get_text() == "old"


def test_links_are_nofollow_and_limited_to_safe_schemes():
    soup = _soup("[site](https://example.org) [mail](mailto:a@example.org) [rel](/admin)")
    links = soup.find_all("a")
    assert links[0]["href"] == "https://example.org"
    assert set(links[0]["rel"]) >= {"nofollow", "noopener"}
    assert links[1]["href"] == "mailto:a@example.org"
    assert not links[2].get("href")  # relative links are dropped, not followed


def test_raw_html_is_escaped_as_text():
    out = str(render_markdown('<script>alert("x")</script>'))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out


def test_empty_and_huge_input():
    assert str(render_markdown("")) == ""
    assert str(render_markdown(None)) == ""
    assert len(str(render_markdown("a" * 100_000))) < 25_000
