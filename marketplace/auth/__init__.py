from flask import Blueprint

bp = Blueprint("auth", __name__)

from marketplace.auth import views  # noqa: E402, F401
