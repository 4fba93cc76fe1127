"""Capability profiles: editing, CPV codes, certifications, logo, and the business directory."""

from flask import Blueprint

bp = Blueprint("profiles", __name__)

from marketplace.profiles import views  # noqa: E402, F401
