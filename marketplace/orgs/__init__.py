from flask import Blueprint

bp = Blueprint("orgs", __name__)

from marketplace.orgs import views  # noqa: E402, F401
