"""Domain errors raised by services, and the one place that turns errors into pages."""

import logging
import uuid

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db
from marketplace.logging_utils import log_security_event, loggable_path

log = logging.getLogger("marketplace.errors")


class DomainError(Exception):
    """A rule of the domain refused an action; the message is safe to show."""

    status_code = 400
    title = "That did not work"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PermissionDenied(DomainError):
    status_code = 403
    title = "Not allowed"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class InvalidState(DomainError):
    status_code = 409
    title = "Not possible right now"


class Conflict(DomainError):
    status_code = 409
    title = "Someone else changed this"


class ValidationFailed(DomainError):
    status_code = 400
    title = "Please check your input"


def _wants_json() -> bool:
    return is_api_request() or request.accept_mimetypes.best == "application/json"


def is_api_request() -> bool:
    """The JSON API and the OCDS feed answer errors in the API's documented shape."""
    return request.path.startswith(("/api/", "/ocds/"))


# The API's machine-readable error codes (``{"error": {"code", "message", "fields"}}``).
API_ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
    429: "rate_limited", 500: "server_error",
}


def api_error(status: int, message: str, fields: dict | None = None,
              reference: str | None = None):
    error = {"code": API_ERROR_CODES.get(status, "error"), "message": message,
             "fields": fields or {}}
    if reference:
        error["reference"] = reference
    return {"error": error}, status


def _render(status: int, title: str, message: str, reference: str | None = None):
    if request_ctx.url_adapter is None:
        # An untrusted Host header leaves no URL adapter, so no page can build its links.
        return f"{status} {title}", status
    if is_api_request():
        return api_error(status, message, reference=reference)
    if _wants_json():
        error = {"code": status, "message": message}
        if reference:
            error["reference"] = reference
        return {"error": error}, status
    return render_template("errors/error.html", status=status, title=title, message=message,
                           reference=reference), status


MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please log in", "You need to log in to do that."),
    403: ("Not allowed", "You do not have permission to see or do this."),
    404: ("Page not found", "There is nothing here. It may have moved or been removed."),
    405: ("Not allowed", "That method is not allowed here."),
    409: ("Conflict", "This changed while you were working on it."),
    413: ("Too large", "What you sent is larger than we accept. Please send something smaller."),
    429: ("Too many attempts", "Too many requests in a short time. Please wait and try again."),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        db.session.rollback()
        if isinstance(exc, PermissionDenied):
            log_security_event("access_denied", actor=current_user, reason=exc.message[:80])
        return _render(exc.status_code, exc.title, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        log_security_event("csrf_failure", actor=current_user, reason=exc.description)
        return _render(400, "Form expired",
                       "Your form session expired or the form was not sent from this site. "
                       "Please go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if code >= 500:
            return _internal_error(exc)
        if code == 429:
            log_security_event("throttled", actor=current_user)
        if code == 403:
            log_security_event("access_denied", actor=current_user)
        title, message = MESSAGES.get(code, (exc.name, exc.description or ""))
        response = _render(code, title, message)
        if code == 405 and exc.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def _internal_error(exc: Exception):
        if isinstance(exc, HTTPException) and (exc.code or 500) < 500:
            return exc
        db.session.rollback()
        if app.config.get("ERRORS_RAISE", app.testing):
            raise exc  # tests see the real traceback
        reference = uuid.uuid4().hex[:12]
        log.error("unhandled error ref=%s path=%s", reference, loggable_path(),
                  exc_info=not isinstance(exc, HTTPException))
        return _render(500, "Something went wrong",
                       "We could not complete your request. Nothing was saved. If it happens "
                       "again, please quote this reference.", reference)
