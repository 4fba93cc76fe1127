"""Template filters and globals shared by every page."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from marketplace import permissions


def init_app(app: Flask) -> None:
    zone = ZoneInfo(app.config["SERVER_TIMEZONE_DISPLAY"])

    @app.template_filter("datetime")
    def _format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
        if value is None:
            return ""
        local = value.astimezone(zone)
        return local.strftime(fmt) + " " + local.tzname()

    @app.template_filter("date")
    def _format_date(value, fmt: str = "%d %b %Y") -> str:
        return value.strftime(fmt) if value else ""

    app.jinja_env.globals["can"] = permissions
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
