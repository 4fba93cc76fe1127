"""Form pieces shared by every blueprint."""

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import SubmitField


def strip(value):
    return value.strip() if isinstance(value, str) else value


def reject_control_chars(form, field):
    """Control characters (NUL and friends) are never meaningful in a one-line field."""
    from wtforms.validators import ValidationError

    value = field.data
    if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("Please remove control characters.")


def reject_control_chars_multiline(form, field):
    from wtforms.validators import ValidationError

    value = field.data
    if isinstance(value, str) and any(
        (ord(c) < 32 and c not in "\n\r\t") or ord(c) == 127 for c in value
    ):
        raise ValidationError("Please remove control characters.")


class EmptyForm(FlaskForm):
    """For buttons that change state: carries only the CSRF token."""

    submit = SubmitField("Submit")


def require_button_form() -> None:
    """Refuse (400) a state-changing button POST without a valid CSRF token.

    Button forms carry nothing but the token, so a failed validation can only mean a missing,
    stale or forged token: there is no form to re-render with messages.
    """
    if not EmptyForm().validate_on_submit():
        abort(400)


MAX_PAGE = 10_000


def page_arg() -> int:
    """The ``page`` query parameter for db.paginate: ASCII digits only (str.isdigit() takes
    "¹", which int() refuses) and capped, since a huge page overflows the SQL OFFSET."""
    raw = (request.args.get("page") or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        return 1
    return max(1, min(int(raw), MAX_PAGE))
