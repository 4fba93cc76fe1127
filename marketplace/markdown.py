"""User Markdown to safe HTML: render with markdown-it-py, then sanitise with nh3.

Raw HTML in the source is escaped by the renderer (``html`` off), and the sanitiser is the
safety net that holds even if the renderer lets something through: an allow-list of tags
and attributes, links limited to http, https and mailto, and every link marked
``rel="nofollow noopener noreferrer"``.
"""

from functools import lru_cache

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "a",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"},
                      "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
MAX_SOURCE_CHARS = 20_000


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # Headings inside a profile sit below the page's own h1/h2: shift them down.
    md.add_render_rule("heading_open", _shifted_heading)
    md.add_render_rule("heading_close", _shifted_heading)
    return md


def _shifted_heading(self, tokens, idx, options, env):
    token = tokens[idx]
    level = min(6, int(token.tag[1]) + 2)
    token.tag = f"h{level}"
    return self.renderToken(tokens, idx, options, env)


def sanitise_html(html: str) -> str:
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=set(URL_SCHEMES), link_rel=LINK_REL,
                     url_relative="deny", strip_comments=True)


def render_markdown(source: str | None) -> Markup:
    """Safe HTML for a user's Markdown (over-long input is cut, never an error)."""
    if not source:
        return Markup("")
    html = _renderer().render(source[:MAX_SOURCE_CHARS])
    return Markup(sanitise_html(html))  # noqa: S704 - sanitised by nh3 just above  # nosec B704


def init_app(app: Flask) -> None:
    app.add_template_filter(render_markdown, "markdown")
