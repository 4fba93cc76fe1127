"""Tenders: posting, the public list and page, clarifications and the teaming board.

``flask tenders close-due`` and ``flask tenders remind`` live here too (``cli.py``).
"""

from flask import Blueprint

bp = Blueprint("tenders", __name__, cli_group="tenders")

from marketplace.tenders import cli, views  # noqa: E402, F401
