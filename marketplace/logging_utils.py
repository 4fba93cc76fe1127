"""Log set-up: UTC timestamps, one line per record (newlines escaped), a security logger."""

import logging
import time

from flask import Flask, has_request_context, request

security_log = logging.getLogger("marketplace.security")
# URL parts that are secrets (reset and invitation links): logged as their placeholder.
SECRET_VIEW_ARGS = frozenset({"token"})


# The other characters str.splitlines() breaks on: VT, FF, FS, GS, RS, NEL, U+2028, U+2029.
_OTHER_LINE_BREAKS = {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}")
                      for c in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)}


class OneLineUTCFormatter(logging.Formatter):
    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # User-controlled values (e-mails, queries) must not forge extra log lines.
        text = text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
        return text.translate(_OTHER_LINE_BREAKS)


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
