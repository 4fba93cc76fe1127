"""Log set-up: UTC timestamps, one line per record (newlines escaped), a security logger."""

import logging
import time

from flask import Flask, has_request_context, request

security_log = logging.getLogger("marketplace.security")
# URL parts that are secrets (reset and invitation links): logged as their placeholder.
SECRET_VIEW_ARGS = frozenset({"token"})


class OneLineUTCFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # User-controlled values (e-mails, queries) must not forge extra log lines.
        return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def configure(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        OneLineUTCFormatter("%(asctime)sZ %(levelname)s %(name)s: %(message)s",
                            datefmt="%Y-%m-%dT%H:%M:%S")
    )
    for name in ("marketplace",):
        logger = logging.getLogger(name)
        if not any(isinstance(h.formatter, OneLineUTCFormatter) for h in logger.handlers):
            logger.addHandler(handler)
        logger.propagate = True
    app.logger.handlers[:] = [handler]


def loggable_path() -> str:
    """The request path with single-use tokens replaced by ``<token>``."""
    path = request.path
    for name in SECRET_VIEW_ARGS & (request.view_args or {}).keys():
        path = path.replace(str(request.view_args[name]), f"<{name}>")
    return path


def log_security_event(event: str, *, actor=None, target: str | None = None, **details) -> None:
    """Write one security event: what happened, who did it, to what, from where (UTC)."""
    parts = [f"event={event}"]
    if actor is not None and getattr(actor, "is_authenticated", False):
        parts.append(f"actor=user:{actor.id}")
    else:
        parts.append("actor=anonymous")
    if target:
        parts.append(f"target={target}")
    if has_request_context():
        parts.append(f"ip={request.remote_addr}")
        parts.append(f"path={loggable_path()}")
    parts.extend(f"{k}={v}" for k, v in sorted(details.items()))
    security_log.warning(" ".join(parts))
