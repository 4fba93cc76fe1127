from flask import Blueprint

bp = Blueprint("alliances", __name__)

from marketplace.alliances import views  # noqa: E402, F401
