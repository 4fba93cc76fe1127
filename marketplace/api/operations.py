"""One decorator per API endpoint: it validates the query and body with the endpoint's
schemas, and records them (with the responses) for the OpenAPI document."""

import functools
from dataclasses import dataclass, field

from flask import request
from marshmallow import Schema, ValidationError

from marketplace.api.services import ApiValidationError


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    description: str = ""
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    access: str = "public"  # public (token optional) | write (read-write token)
    errors: tuple[int, ...] = field(default=())


class BadRequestBody(Exception):
    pass


def flatten(messages, prefix: str = "") -> dict[str, str]:
    """Marshmallow's nested messages -> {"requirements.0.kind": "reason; reason"}."""
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "" if key == "_schema" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name or "_schema")
            out.update(flatten(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "_schema"] = "; ".join(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten(value, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_schema"] = str(messages)
    return out


def _json_body():
    if not request.is_json:
        raise BadRequestBody("Send the body as JSON (Content-Type: application/json).")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser can go: "[[[[...": not a 500
        data = None
    if data is None:
        raise BadRequestBody("The body is not valid JSON.")
    return data


def operation(**meta):
    op = Operation(**meta)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            try:
                if op.query is not None:
                    kwargs["args"] = op.query().load(request.args.to_dict(flat=True))
                if op.body is not None:
                    kwargs["body"] = op.body().load(_json_body())
            except ValidationError as exc:
                raise ApiValidationError("Please check the fields.", flatten(exc.messages)
                                         ) from None
            return view(*args, **kwargs)

        wrapped.api_operation = op
        return wrapped

    return decorate
