"""Running one matrix case: fill the ids, send the body, classify the answer."""

import io
import json
from urllib.parse import urlsplit

from tests.world import PDF, World, _png, api_headers, fill

JSONL = b'{"external_id": "m-1", "name": "Matrix Import Ltd", "summary": "Imported"}\n'
FILES = {"@pdf": (PDF, "matrix.pdf"), "@png": (None, "matrix.png"), "@jsonl": (JSONL, "o.jsonl")}
API_PREFIX = "/api/"
# How a form shown again with errors looks (field errors, form-wide errors, error flashes).
FORM_ERROR_MARKS = ('class="field-error', 'class="flash flash-error', 'role="alert"')


def _fill_value(value, world: World):
    if isinstance(value, str):
        return fill(value, world)
    if isinstance(value, dict):
        return {fill(k, world): _fill_value(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_value(v, world) for v in value]
    return value


def send(client, world: World, actor: str, method: str, url: str, data: dict | None):
    """The request as the actor would make it: API calls with the actor's token (the API
    ignores session cookies), forms as multipart when they carry a file."""
    path = fill(url, world)
    headers = api_headers(world, actor) if path.startswith(API_PREFIX) else {}
    kwargs = {"headers": headers}
    if data is not None:
        data = _fill_value(data, world)
        if "json" in data:
            body = data["json"]
            for key in ("version", "buyer_id"):
                if key in body and str(body[key]).isdigit():
                    body[key] = int(body[key])
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        else:
            form = {}
            for key, value in data.items():
                if value in FILES:
                    raw, name = FILES[value]
                    form[key] = (io.BytesIO(raw if raw is not None else _png()), name)
                else:
                    form[key] = value
            kwargs["data"] = form
    return client.open(path, method=method, **kwargs)


def outcome(client, response) -> int | str:
    """The status, with finer words where a status alone would hide the answer:

    - "login" / "reauthenticate": a redirect to that page;
    - "refused": a redirect carrying an error message (the action was not done), or a form
      shown again with errors after a POST;
    - otherwise the status code (a 302 is a redirect after success).
    """
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = urlsplit(response.headers.get("Location", ""))
        if location.path in ("/login", "/reauthenticate"):
            return location.path.strip("/")
        if any(category == "error" for category, _ in _flashes(client)):
            return "refused"
    elif (status == 200 and response.request.method != "GET" and response.mimetype == "text/html"
          and any(mark in response.get_data(as_text=True) for mark in FORM_ERROR_MARKS)):
        return "refused"
    return status


def _flashes(client) -> list:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


# Pages of the other organisations, and query strings for pages whose answer depends on them.
QUERY_VARIANTS = ("/orgs/lead", "/orgs/ally", "/orgs/buyer", "/orgs/outsider",
                  "/orgs/lead/projects", "/orgs/lead/members", "/orgs/ally/members",
                  "/orgs/buyer/members", "/orgs/lead/profile/edit",
                  "/orgs/lead/profile/certifications", "/orgs/ally/profile/certifications",
                  "/orgs/lead/profile/certifications/{cert_lead}/edit", "/alliances/new",
                  "/tenders/{tender_closed}/teaming", "/tenders/{tender_closed}/history",
                  "/tenders/{tender_closed}/edit", "/bids/{bid_closed}/approve",
                  "/tenders/{tender_closed}/bids/new", "/api/v1/organisations/{org_lead_id}",
                  "/api/v1/tenders/{tender_closed}",
                  "/search?q=roof", "/search?q=roof&kind=tenders", "/search?q=roof&kind=orgs",
                  "/tenders?q=roof&status=all", "/businesses?q=roof", "/businesses?tag=roofing",
                  "/api/v1/search?q=roof", "/api/v1/tenders?limit=5",
                  "/api/v1/organisations?limit=5", "/tenders/cpv-codes?q=roof",
                  "/cpv/search?q=roof", "/orgs/home/profile/cpv?q=roof",
                  "/inbox?unread=1", "/dashboard?org=home",
                  # The XSS world's text is all markers: these find it.
                  "/search?q=script+alert", "/search?q=alert&kind=tenders",
                  "/search?q=alert&kind=orgs", "/search?q=alert&kind=projects",
                  "/tenders?q=alert&status=all", "/businesses?q=alert",
                  "/api/v1/search?q=alert")


def get_urls(app, matrix: list[dict]) -> list[str]:
    """Every GET page: the matrix's GET cases (ids as placeholders) and every GET route that
    takes no parameters, plus the query variants above."""
    urls = [case["route"].split(" ", 1)[1] for case in matrix
            if case["route"].startswith("GET ")]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static":
            urls.append(rule.rule)
    urls.extend(QUERY_VARIANTS)
    return list(dict.fromkeys(urls))
