from flask import Blueprint

bp = Blueprint("projects", __name__)

from marketplace.projects import views  # noqa: E402, F401
