"""The OpenAPI 3.1 document, built by apispec from the endpoints' own schemas, and the
data for the human-readable docs page (rendered on the server; no CDN, no scripts)."""

import json
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app

from marketplace.api import schemas

TITLE = "Guild API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Read Guild's public data (organisations, alliances, tenders, confirmed projects, search "
    "and matches) and manage your own tenders and profiles.\n\n"
    "Authenticate with a personal token from your account page: `Authorization: Bearer "
    "<token>`. Reads work without a token for public data; writes need a read-write token "
    "(session cookies are never accepted). Lists are paginated with an opaque `cursor`: "
    "pass the previous page's `next_cursor` until it is null. Errors always look like "
    '`{"error": {"code", "message", "fields"}}`. Rate limits apply per token, or per '
    "address without one (429 with Retry-After).")
STATUS_TEXT = {
    200: "OK", 201: "Created", 400: "Malformed request (not JSON)",
    401: "No valid token (missing, unknown, revoked or expired)",
    403: "Token lacks the scope, or you lack the role", 404: "Not found, or not yours",
    409: "Stale version or state conflict", 413: "Body too large",
    422: "Validation failed (see error.fields)", 429: "Rate limited",
}


def _schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    # Nested schemas loaded with partial or other modifiers still share one component.
    return name


def _path(rule) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", "{" + name + "}").replace(f"<{name}>",
                                                                        "{" + name + "}")
    return path


def _operations(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        op = getattr(view, "api_operation", None)
        if op is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method.lower(), op


def build_spec(app) -> APISpec:
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": DESCRIPTION})
    spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer",
        "description": "A personal API token from the account page."})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for rule, method, op in _operations(app):
        parameters = [{"in": "path", "name": name, "required": True,
                       "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
                      for name in sorted(rule.arguments)]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        responses = {str(op.status): {
            "description": STATUS_TEXT.get(op.status, "OK"),
            "content": {"application/json": {"schema": op.response}}}}
        for status in op.errors:
            responses[str(status)] = {
                "description": STATUS_TEXT[status],
                "content": {"application/json": {"schema": "Error"}}}
        operation = {
            "operationId": rule.endpoint.removeprefix("api."),
            "summary": op.summary, "tags": [op.tag], "parameters": parameters,
            "responses": responses,
            "security": ([{"bearerToken": []}] if op.access == "write"
                         else [{}, {"bearerToken": []}]),
        }
        if op.description:
            operation["description"] = op.description
        if op.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": op.body}}}
        spec.path(path=_path(rule), operations={method: operation})
    return spec


def _plain(value):
    # marshmallow's Decimal fields describe themselves with Decimal bounds.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def document() -> dict:
    """Built once per app (routes and schemas do not change at run time); a fresh copy each
    call, so callers may not alter the cached one."""
    cache = current_app.extensions
    if "guild_openapi" not in cache:
        cache["guild_openapi"] = json.dumps(build_spec(current_app).to_dict(),
                                              default=_plain)
    return json.loads(cache["guild_openapi"])


# -- the docs page ----------------------------------------------------------------------------

def _type_of(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        nullable = "null" in kind
        kind = " | ".join(k for k in kind if k != "null") + (" or null" if nullable else "")
    if kind == "array" or (isinstance(prop.get("type"), list) and "array" in prop["type"]):
        kind = f"array of {_type_of(prop.get('items', {}))}"
    if "enum" in prop:
        kind += " (" + ", ".join(str(v) for v in prop["enum"] if v is not None) + ")"
    if "format" in prop:
        kind += f" [{prop['format']}]"
    return kind


def _limits(prop: dict) -> str:
    parts = []
    for key, label in (("minLength", "min length"), ("maxLength", "max length"),
                       ("minimum", "min"), ("maximum", "max"), ("minItems", "min items"),
                       ("maxItems", "max items"), ("pattern", "pattern")):
        if key in prop:
            parts.append(f"{label} {prop[key]}")
    return ", ".join(parts)


def _example(schema: dict, components: dict, depth: int = 0):
    if depth > 10:
        return None
    if "$ref" in schema:
        return _example(components.get(schema["$ref"].rsplit("/", 1)[-1], {}), components,
                        depth + 1)
    if "example" in schema:
        return schema["example"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _example(v, components, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [_example(schema.get("items", {}), components, depth + 1)]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return 1000.0
    if kind == "boolean":
        return True
    if kind == "string":
        return {"date-time": "2027-03-01T12:00:00+00:00", "date": "2027-03-01",
                "email": "hello@example.org"}.get(schema.get("format"), "text")
    return None


def docs_context() -> dict:
    doc = document()
    components = doc["components"]["schemas"]
    operations = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            body_ref = (op.get("requestBody", {}).get("content", {})
                        .get("application/json", {}).get("schema"))
            ok = next(iter(op["responses"].items()))
            ok_schema = ok[1]["content"]["application/json"]["schema"]
            example_body = _example(body_ref, components) if body_ref else None
            operations.append({
                "id": op["operationId"], "method": method.upper(), "path": path,
                "summary": op["summary"], "description": op.get("description", ""),
                "tag": op["tags"][0],
                "needs_token": op["security"] == [{"bearerToken": []}],
                "parameters": [{"name": p["name"], "in": p["in"],
                                "required": p.get("required", False),
                                "type": _type_of(p.get("schema", {})),
                                "limits": _limits(p.get("schema", {})),
                                "description": p.get("description", "")}
                               for p in op.get("parameters", [])],
                "body": _type_of(body_ref) if body_ref else None,
                "example_body": json.dumps(example_body, indent=2) if body_ref else None,
                "response": _type_of(ok_schema), "status": ok[0],
                "example_response": json.dumps(_example(ok_schema, components), indent=2),
                "errors": [(code, r["description"]) for code, r in op["responses"].items()
                           if code != ok[0]],
            })
    models = []
    for name, schema in sorted(components.items()):
        required = set(schema.get("required", []))
        models.append({"name": name, "properties": [
            {"name": prop_name, "type": _type_of(prop), "limits": _limits(prop),
             "required": prop_name in required, "description": prop.get("description", "")}
            for prop_name, prop in schema.get("properties", {}).items()]})
    tags = list(dict.fromkeys(op["tag"] for op in operations))
    from marketplace.markdown import render_markdown

    return {"doc": doc, "operations": operations, "models": models, "tags": tags,
            "intro_html": render_markdown(doc["info"]["description"])}
