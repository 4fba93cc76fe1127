"""The OCDS release-package feed of all published tenders, paginated by id.

Until a tender is published the feed answers 404 with the API's error object: OCDS release
packages must hold at least one release."""

from flask import current_app, request, url_for

from marketplace import ocds
from marketplace.api import ocds_bp, services
from marketplace.api.auth import rate_limit, rate_limit_key
from marketplace.api.operations import flatten
from marketplace.api.services import ApiValidationError
from marketplace.clock import now
from marketplace.errors import api_error
from marketplace.extensions import limiter
from marketplace.models import Tender

PAGE_SIZE = 100

limiter.limit(rate_limit, key_func=rate_limit_key)(ocds_bp)


@ocds_bp.errorhandler(ApiValidationError)
def _invalid(exc: ApiValidationError):
    return api_error(422, exc.message, exc.fields)


@ocds_bp.get("/releases.json")
def releases():
    from marshmallow import ValidationError

    from marketplace.api.schemas import ListArgsSchema

    try:
        args = ListArgsSchema().load({"limit": PAGE_SIZE, **request.args.to_dict(flat=True)})
    except ValidationError as exc:
        raise ApiValidationError("Please check the parameters.", flatten(exc.messages)
                                 ) from None
    moment = now()
    page = services.keyset_page(ocds.exportable_tenders_query(), Tender.id,
                                args["limit"], args.get("cursor"))
    if not page.items:
        # The release-package schema requires at least one release (minItems 1), so an empty
        # package would not be valid OCDS: say plainly that there is nothing yet instead.
        message = ("No releases are published yet." if not args.get("cursor")
                   else "No releases after this cursor; start again without it.")
        body, status = api_error(404, message)
        return body, status, {"Cache-Control": "public, max-age=60"}
    next_uri = (url_for("ocds.releases", cursor=page.next_cursor, limit=args["limit"],
                        _external=True) if page.next_cursor else None)
    package = ocds.release_package([ocds.release(t, moment) for t in page.items],
                                   uri=request.url, published=moment, next_uri=next_uri)
    response = current_app.response_class(
        current_app.json.dumps(package), mimetype="application/json")
    # Bids open at the deadline: a cached copy must not outlive the moment they do.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
