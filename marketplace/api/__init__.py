"""The JSON API (/api/v1), its OpenAPI document and docs page, the OCDS feed (/ocds) and
the personal API tokens on the account page.

The API authenticates with ``Authorization: Bearer <token>`` only; it is exempt from
CSRFProtect because a session cookie never authorises anything here (see ``auth``).
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
ocds_bp = Blueprint("ocds", __name__, url_prefix="/ocds")
tokens_bp = Blueprint("api_tokens", __name__)

from marketplace.api import feeds, token_views, views  # noqa: E402, F401
