"""Bids: solo or joint, approved by every member organisation, sealed until the deadline."""

from flask import Blueprint

bp = Blueprint("bids", __name__)

from marketplace.bids import views  # noqa: E402, F401
