"""The JSON API's endpoints. HTTP only: parse (via ``operation``), check, call, commit."""

from flask import current_app, g, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.api import bp, schemas, services
from marketplace.api.auth import (
    ApiAuthError,
    caller,
    rate_limit,
    rate_limit_key,
    require_valid_token_if_sent,
    write_endpoint,
)
from marketplace.api.operations import BadRequestBody, flatten, operation
from marketplace.api.services import ApiValidationError
from marketplace.clock import now
from marketplace.errors import (
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    api_error,
)
from marketplace.extensions import csrf, db, limiter
from marketplace.logging_utils import log_security_event

# Bodies are small JSON objects; anything bigger is refused early (413).
API_MAX_BODY_BYTES = 256 * 1024

# A token, never a cookie, authorises writes, so the CSRF token has nothing to protect here.
csrf.exempt(bp)
limiter.limit(rate_limit, key_func=rate_limit_key)(bp)


@bp.before_request
def _authenticate():
    request.max_content_length = current_app.config.get("API_MAX_BODY_BYTES",
                                                        API_MAX_BODY_BYTES)
    g.api_actor = require_valid_token_if_sent().user


@bp.after_request
def _no_store(response):
    # Responses depend on the token; shared caches must not keep them.
    response.headers["Cache-Control"] = "no-store"
    response.headers.add("Vary", "Authorization")
    return response


@bp.errorhandler(ApiAuthError)
def _auth_error(exc: ApiAuthError):
    body, status = api_error(exc.status, exc.message)
    headers = {"WWW-Authenticate": 'Bearer realm="guild"'} if status == 401 else {}
    return body, status, headers


@bp.errorhandler(ApiValidationError)
def _validation_error(exc: ApiValidationError):
    db.session.rollback()
    return api_error(422, exc.message, exc.fields)


@bp.errorhandler(ValidationError)
def _schema_error(exc: ValidationError):
    db.session.rollback()
    return api_error(422, "Please check the fields.", flatten(exc.messages))


@bp.errorhandler(BadRequestBody)
def _bad_body(exc: BadRequestBody):
    return api_error(400, str(exc))


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    db.session.rollback()
    if isinstance(exc, PermissionDenied):
        log_security_event("access_denied", actor=caller().user, reason=exc.message[:80])
    status = {ValidationFailed: 422, Conflict: 409, InvalidState: 409, NotFound: 404,
              PermissionDenied: 403}.get(type(exc), exc.status_code)
    return api_error(status, exc.message)


def _actor():
    return g.get("api_actor")


def _page(page: services.Page, to_dict) -> dict:
    return {"data": [to_dict(item) for item in page.items], "next_cursor": page.next_cursor}


READ_ERRORS = (401, 404, 422, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)


# -- organisations --------------------------------------------------------------------------

@bp.get("/organisations")
@operation(summary="List organisations", tag="Organisations",
           description="Published profiles, and any organisation the token's user belongs "
                       "to. Ordered by id.",
           query=schemas.ListArgsSchema, response=schemas.OrganisationListSchema,
           errors=READ_ERRORS)
def list_organisations(args):
    page = services.organisations_page(_actor(), args["limit"], args.get("cursor"))
    return schemas.OrganisationListSchema().dump(
        _page(page, lambda o: services.organisation_dict(_actor(), o)))


@bp.get("/organisations/<int:org_id>")
@operation(summary="Get an organisation's profile", tag="Organisations",
           response=schemas.OrganisationSchema, errors=READ_ERRORS)
def get_organisation(org_id: int):
    org = services.organisation_for(_actor(), org_id)
    return schemas.OrganisationSchema().dump(services.organisation_dict(_actor(), org))


@bp.patch("/organisations/<int:org_id>")
@write_endpoint
@operation(summary="Update an organisation's profile", tag="Organisations",
           description="Owners and admins only. Send the version you read; fields left out "
                       "keep their values.",
           body=schemas.ProfileUpdateSchema, response=schemas.OrganisationSchema,
           access="write", errors=WRITE_ERRORS)
def update_organisation(org_id: int, body):
    org = services.update_organisation(_actor(), org_id, body, now())
    db.session.commit()
    return schemas.OrganisationSchema().dump(services.organisation_dict(_actor(), org))


# -- alliances ------------------------------------------------------------------------------

@bp.get("/alliances")
@operation(summary="List alliances", tag="Alliances", query=schemas.ListArgsSchema,
           response=schemas.AllianceListSchema, errors=READ_ERRORS)
def list_alliances(args):
    page = services.alliances_page(_actor(), args["limit"], args.get("cursor"))
    return schemas.AllianceListSchema().dump(_page(page, services.alliance_dict))


@bp.get("/alliances/<int:alliance_id>")
@operation(summary="Get an alliance", tag="Alliances", response=schemas.AllianceSchema,
           errors=READ_ERRORS)
def get_alliance(alliance_id: int):
    alliance = services.alliance_for(_actor(), alliance_id)
    return schemas.AllianceSchema().dump(services.alliance_dict(alliance))


# -- projects -------------------------------------------------------------------------------

@bp.get("/projects")
@operation(summary="List confirmed project examples", tag="Projects",
           description="Only projects with a confirmed partner credit; only confirmed "
                       "credits are listed.",
           query=schemas.ListArgsSchema, response=schemas.ProjectListSchema,
           errors=READ_ERRORS)
def list_projects(args):
    page = services.projects_page(args["limit"], args.get("cursor"))
    return schemas.ProjectListSchema().dump(_page(page, services.project_dict))


@bp.get("/projects/<int:project_id>")
@operation(summary="Get a project example", tag="Projects", response=schemas.ProjectSchema,
           errors=READ_ERRORS)
def get_project(project_id: int):
    return schemas.ProjectSchema().dump(services.project_dict(services.project_for(project_id)))


# -- tenders --------------------------------------------------------------------------------

@bp.get("/tenders")
@operation(summary="List tenders", tag="Tenders",
           description="Published tenders, and drafts of organisations the token's user "
                       "belongs to. Bids are sealed and never listed here.",
           query=schemas.TenderListArgsSchema, response=schemas.TenderListSchema,
           errors=READ_ERRORS)
def list_tenders(args):
    moment = now()
    page = services.tenders_page(_actor(), args["limit"], args.get("cursor"), now=moment,
                                 status=args.get("status"), buyer_id=args.get("buyer_id"))
    return schemas.TenderListSchema().dump(
        _page(page, lambda t: services.tender_dict(t, moment)))


@bp.get("/tenders/<int:tender_id>")
@operation(summary="Get a tender", tag="Tenders", response=schemas.TenderSchema,
           errors=READ_ERRORS)
def get_tender(tender_id: int):
    tender = services.tender_for(_actor(), tender_id)
    return schemas.TenderSchema().dump(services.tender_dict(tender, now()))


@bp.post("/tenders")
@write_endpoint
@operation(summary="Create a draft tender", tag="Tenders",
           description="For an organisation you own or administer. Publish it afterwards.",
           body=schemas.TenderCreateSchema, response=schemas.TenderSchema, status=201,
           access="write", errors=WRITE_ERRORS)
def create_tender(body):
    moment = now()
    tender = services.create_tender(_actor(), body, moment)
    db.session.commit()
    location = url_for("api.get_tender", tender_id=tender.id, _external=True)
    return (schemas.TenderSchema().dump(services.tender_dict(tender, moment)), 201,
            {"Location": location})


@bp.patch("/tenders/<int:tender_id>")
@write_endpoint
@operation(summary="Update a tender's terms", tag="Tenders",
           description="Drafts and open tenders. Changing an open tender's terms invalidates "
                       "submitted bids and may extend the deadline.",
           body=schemas.TenderUpdateSchema, response=schemas.TenderSchema, access="write",
           errors=WRITE_ERRORS)
def update_tender(tender_id: int, body):
    moment = now()
    tender = services.update_tender(_actor(), tender_id, body, moment)
    db.session.commit()
    return schemas.TenderSchema().dump(services.tender_dict(tender, moment))


@bp.post("/tenders/<int:tender_id>/publish")
@write_endpoint
@operation(summary="Publish a draft tender", tag="Tenders", body=schemas.VersionSchema,
           response=schemas.TenderSchema, access="write", errors=WRITE_ERRORS)
def publish_tender(tender_id: int, body):
    moment = now()
    tender = services.publish_tender(_actor(), tender_id, body["version"], moment)
    db.session.commit()
    return schemas.TenderSchema().dump(services.tender_dict(tender, moment))


@bp.get("/tenders/<int:tender_id>/matches")
@operation(summary="Organisations and alliances that match a tender", tag="Search",
           description="The same scorer as the tender page, with the reasons for each match.",
           query=schemas.MatchArgsSchema, response=schemas.MatchListSchema,
           errors=READ_ERRORS)
def tender_matches(tender_id: int, args):
    from marketplace.search import service as search

    tender = services.tender_for(_actor(), tender_id)
    found = search.resolve(search.matches_for_tender(tender, args["limit"]))
    data = []
    for r in found:
        m, obj = r.match, r.obj
        endpoint = "api.get_organisation" if r.kind == "organisation" else "api.get_alliance"
        key = "org_id" if r.kind == "organisation" else "alliance_id"
        data.append({
            "kind": r.kind, "id": obj.id, "name": obj.name, "score": float(m.score),
            "reasons": {
                "terms": list(m.reasons.terms),
                "cpv_codes": [c.code for c in m.reasons.cpv],
                "certifications_covered": list(m.reasons.certifications_covered),
                "certifications_missing": list(m.reasons.certifications_missing),
                "distance_km": m.reasons.distance_km,
                "within_radius": m.reasons.within_radius,
                "track_record": int(m.reasons.track_record)},
            "url": url_for("orgs.show" if r.kind == "organisation" else "alliances.show",
                           slug=obj.slug, _external=True),
            "api_url": url_for(endpoint, **{key: obj.id}, _external=True)})
    return schemas.MatchListSchema().dump({"data": data})


# -- search ---------------------------------------------------------------------------------

API_ENDPOINTS = {"organisation": ("api.get_organisation", "org_id"),
                 "alliance": ("api.get_alliance", "alliance_id"),
                 "tender": ("api.get_tender", "tender_id"),
                 "project": ("api.get_project", "project_id")}


@bp.get("/search")
@operation(summary="Search everything public", tag="Search",
           description="Full-text search over profiles, alliances, tenders and projects.",
           query=schemas.SearchArgsSchema, response=schemas.SearchResultSchema,
           errors=READ_ERRORS)
def search(args):
    from marketplace.search import service as search_service
    from marketplace.search.services import url_for_object

    page_number = (services.decode_cursor(args.get("cursor"), "page") or 1)
    limit = args["limit"]
    result = search_service.search_page(args["q"], kind=args.get("kind"), page=page_number,
                                        pagelen=limit)
    data = []
    for r in search_service.resolve(result.hits):
        endpoint, key = API_ENDPOINTS[r.kind]
        title = getattr(r.obj, "name", None) or getattr(r.obj, "title", "")
        data.append({"kind": r.kind, "id": r.obj.id, "title": title,
                     "score": float(r.match.score),
                     "url": url_for_object(r.kind, r.obj),
                     "api_url": url_for(endpoint, **{key: r.obj.id}, _external=True)})
    more = page_number * limit < result.total and len(result.hits) == limit
    return schemas.SearchResultSchema().dump({
        "data": data, "total": int(result.total),
        "next_cursor": services.encode_cursor({"page": page_number + 1}) if more else None})


# -- the document and its page --------------------------------------------------------------

@bp.get("/openapi.json")
def openapi_document():
    from marketplace.api.openapi import document

    return document()


@bp.get("/docs")
def docs():
    from marketplace.api.openapi import docs_context

    response = current_app.make_response(render_template("api/docs.html", **docs_context()))
    return response
