"""The in-app inbox: notifications, marking them read, the unread count in the navigation."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from marketplace.inbox import views  # noqa: E402, F401
