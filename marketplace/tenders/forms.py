"""Tender forms: the buyer's editor, actions, questions, the teaming board and the list
filters (a GET form without CSRF, so result pages can be bookmarked)."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from marketplace import cpv
from marketplace.data.gazetteer import load_gazetteer
from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.models import RequirementKind, TeamingKind, TenderStatus
from marketplace.tenders.services import (
    CURRENCIES,
    MAX_CPV_CODES,
    MAX_REQUIREMENTS,
    TenderTerms,
)

DEFAULT_ZONE = "Europe/London"
VERSION_FIELD = [InputRequired(), Regexp(r"^\d{1,9}$", message="Reload the page.")]
REQUIREMENT_PREFIXES = {
    "capability": RequirementKind.CAPABILITY, "cap": RequirementKind.CAPABILITY,
    "cpv": RequirementKind.CPV,
    "certification": RequirementKind.CERTIFICATION, "cert": RequirementKind.CERTIFICATION,
}


@lru_cache(maxsize=1)
def zone_choices() -> list[tuple[str, str]]:
    zones = sorted(z for z in available_timezones()
                   if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/",
                                                     "right/")))
    zones.remove(DEFAULT_ZONE)
    return [(z, z.replace("_", " ")) for z in [DEFAULT_ZONE, "UTC", *zones]]


@lru_cache(maxsize=1)
def town_choices() -> list[tuple[str, str]]:
    towns = sorted({t.name for t in load_gazetteer()})
    return [("", "Not tied to a place"), *[(t, t) for t in towns]]


def parse_cpv_codes(text: str | None) -> list[str]:
    """Codes separated by commas, spaces or new lines; a trailing check digit
    (``45000000-7``) is accepted and dropped."""
    codes = []
    for raw in re.split(r"[\s,;]+", text or ""):
        code = raw.strip().split("-")[0]
        if code and code not in codes:
            codes.append(code)
    return codes


def parse_requirements(text: str | None) -> list[tuple[RequirementKind, str]]:
    """One requirement per line, ``kind: value``; a line without a known kind is a
    capability. Raises ValueError with a message for the form."""
    result = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = " ".join(line.split())
        if not line:
            continue
        kind = RequirementKind.CAPABILITY
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() in REQUIREMENT_PREFIXES:
            kind = REQUIREMENT_PREFIXES[head.strip().lower()]
            line = rest.strip()
        if kind == RequirementKind.CPV:
            line = line.split()[0].split("-")[0] if line else line
            if not cpv.is_valid_code(line):
                raise ValueError(f"Line {number}: “{line[:20]}” is not a CPV code.")
        if not line or len(line) > 200:
            raise ValueError(f"Line {number}: write 1 to 200 characters after the kind.")
        item = (kind, line if kind == RequirementKind.CPV else line[:200])
        if item not in result:
            result.append(item)
    return result


def local_to_utc(local: datetime, zone: str) -> datetime:
    """A wall-clock time in ``zone`` to UTC. Times that do not exist there (the hour the
    clocks skip) are refused; times that happen twice take the first (``fold=0``)."""
    tz = ZoneInfo(zone)
    aware = local.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != local:
        raise ValueError("That time does not exist in this zone (the clocks change then).")
    return aware.astimezone(UTC)


def utc_to_local(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


class AmountField(DecimalField):
    """A money amount: finite, 0 or more, at most 12 digits before and 2 after the point.
    NaN and Infinity parse as Decimals and would blow up comparisons; refused here."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        value = self.data
        if value is None:
            return
        if not value.is_finite():
            self.data = None
            raise ValueError("Enter an amount such as 25000 or 25000.50.")
        if value < 0 or value >= Decimal("1e12") or value.as_tuple().exponent < -2:
            self.data = None
            raise ValueError("Enter an amount of 0 or more, up to 999,999,999,999.99, with "
                             "at most 2 decimal places.")


def valid_zone(form, field):
    if field.data not in dict(zone_choices()):
        raise ValidationError("Choose a time zone from the list.")


class TenderForm(FlaskForm):
    title = StringField("Title", filters=[strip],
                        validators=[InputRequired(), Length(min=5, max=300),
                                    reject_control_chars])
    description = TextAreaField(
        "Description", filters=[strip],
        validators=[Optional(), Length(max=20_000), reject_control_chars_multiline],
        description="What you need, where and when. Markdown: **bold**, lists with “- ”.")
    requirements = TextAreaField(
        "Requirements", filters=[strip],
        validators=[Optional(), Length(max=10_000), reject_control_chars_multiline],
        description="One per line; start with “capability:”, “cpv:” or “certification:”, "
                    "e.g. “certification: CHAS” or “cpv: 45261000”. Plain lines are "
                    f"capabilities. Up to {MAX_REQUIREMENTS}.")
    cpv_codes = TextAreaField(
        "CPV codes", filters=[strip],
        validators=[Optional(), Length(max=2_000), reject_control_chars_multiline],
        description="8-digit codes separated by commas or spaces, e.g. 45261000. "
                    f"Up to {MAX_CPV_CODES}.")
    town = SelectField("Place", choices=town_choices, default="",
                       description="The town the work is in; it sets the map position used "
                                   "for distance search.")
    budget_min = AmountField("Budget from", places=2, validators=[Optional()])
    budget_max = AmountField("Budget up to", places=2, validators=[Optional()])
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES], default="GBP")
    deadline_local = DateTimeLocalField(
        "Deadline (date and time)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
        description="In the time zone below. Required before publishing.")
    deadline_zone = SelectField("Time zone", choices=zone_choices, default=DEFAULT_ZONE,
                                validate_choice=False, validators=[valid_zone])
    version = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    submit = SubmitField("Save")

    def validate_requirements(self, field):
        try:
            parse_requirements(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def validate_cpv_codes(self, field):
        codes = parse_cpv_codes(field.data)
        bad = [c for c in codes if not cpv.is_valid_code(c)]
        if bad:
            raise ValidationError("Unknown CPV code: " + ", ".join(c[:12] for c in bad[:5]))
        if len(codes) > MAX_CPV_CODES:
            raise ValidationError(f"At most {MAX_CPV_CODES} CPV codes.")

    def validate_deadline_local(self, field):
        if field.data is None:
            return
        if not 2000 <= field.data.year <= 2100:
            raise ValidationError("Enter a date between 2000 and 2100.")
        if self.deadline_zone.data in dict(zone_choices()):
            try:
                local_to_utc(field.data, self.deadline_zone.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc

    def terms(self) -> TenderTerms:
        deadline = None
        if self.deadline_local.data is not None:
            deadline = local_to_utc(self.deadline_local.data, self.deadline_zone.data)
        return TenderTerms(
            title=self.title.data, description=self.description.data or "",
            requirements=parse_requirements(self.requirements.data),
            cpv_codes=parse_cpv_codes(self.cpv_codes.data), town=self.town.data or None,
            budget_min=self.budget_min.data, budget_max=self.budget_max.data,
            currency=self.currency.data, deadline=deadline,
            deadline_zone=self.deadline_zone.data)

    def fill_from(self, tender) -> None:
        self.title.data = tender.title
        self.description.data = tender.description
        self.requirements.data = "\n".join(
            (r.value if r.kind == RequirementKind.CAPABILITY else f"{r.kind.value}: {r.value}")
            for r in tender.requirements)
        self.cpv_codes.data = ", ".join(c.code for c in tender.cpv_codes)
        self.town.data = tender.town or ""
        self.budget_min.data = tender.budget_min
        self.budget_max.data = tender.budget_max
        self.currency.data = tender.currency
        self.deadline_zone.data = tender.deadline_zone or DEFAULT_ZONE
        self.deadline_local.data = (utc_to_local(tender.deadline, self.deadline_zone.data)
                                    if tender.deadline else None)
        self.version.data = str(tender.version)


class VersionedActionForm(FlaskForm):
    """A button acting on exactly the version the buyer saw."""

    version = HiddenField(validators=VERSION_FIELD)
    submit = SubmitField("Go")


class EndTenderForm(VersionedActionForm):
    reason = TextAreaField("Reason", filters=[strip],
                           validators=[InputRequired(), Length(min=5, max=1000),
                                       reject_control_chars_multiline],
                           description="Shown on the tender page and to bidders.")


class DocumentForm(VersionedActionForm):
    file = FileField("Document", description="PDF, ODT, DOCX or XLSX; up to 20 MB.")
    submit = SubmitField("Upload")


class QuestionForm(FlaskForm):
    question = TextAreaField(
        "Your question", filters=[strip],
        validators=[InputRequired(), Length(min=5, max=2000), reject_control_chars_multiline],
        description="Questions and answers are public. Nobody, the buyer included, sees "
                    "who asked.")
    submit = SubmitField("Ask the buyer")


class AnswerForm(FlaskForm):
    answer = TextAreaField("Public answer", filters=[strip],
                           validators=[InputRequired(), Length(max=5000),
                                       reject_control_chars_multiline])
    submit = SubmitField("Publish answer")


class TeamingPostForm(FlaskForm):
    kind = SelectField("We are", choices=[
        (TeamingKind.INTERESTED.value, "Interested in this tender"),
        (TeamingKind.PARTNER_WANTED.value, "Looking for a partner")],
        default=TeamingKind.INTERESTED.value)
    looking_for = StringField(
        "Looking for a partner for", filters=[strip],
        validators=[Optional(), Length(max=300), reject_control_chars],
        description="e.g. “electrical installation” or “the Bath sites”.")
    message = TextAreaField("Note", filters=[strip],
                            validators=[Optional(), Length(max=1000),
                                        reject_control_chars_multiline])
    submit = SubmitField("Post on the teaming board")


class ContactForm(FlaskForm):
    message = TextAreaField(
        "Message", filters=[strip],
        validators=[InputRequired(), Length(min=5, max=1000), reject_control_chars_multiline],
        description="Sent to the firm's owners and admins with your organisation's name and "
                    "your e-mail address, so they can reply.")
    submit = SubmitField("Send")


STATUS_FILTERS = [("open", "Open"), ("closed", "Closed"), ("awarded", "Awarded"),
                  ("cancelled", "Cancelled"), ("unsuccessful", "Unsuccessful"),
                  ("all", "Any status")]
SORTS = [("deadline", "Closing first"), ("newest", "Newest"),
         ("budget", "Largest budget"), ("distance", "Nearest")]
DISTANCES = [("", "Any distance"), ("5", "5 km"), ("10", "10 km"), ("25", "25 km"),
             ("50", "50 km"), ("100", "100 km")]


class TenderSearchForm(FlaskForm):
    """GET filters. Invalid values show a message and are ignored, never a 500."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[strip],
                    validators=[Optional(), Length(max=200), reject_control_chars])
    status = SelectField("Status", choices=STATUS_FILTERS, default="open")
    cpv = StringField("CPV code", filters=[strip],
                      validators=[Optional(), Regexp(r"^\d{2,8}$", message="Enter 2 to 8 "
                                                     "digits: division (2), group (3), "
                                                     "class (4) or a full code.")],
                      description="Division, group, class or full code.")
    town = SelectField("Near", choices=lambda: [("", "Anywhere"), *town_choices()[1:]],
                       default="")
    km = SelectField("Within", choices=DISTANCES, default="")
    budget_min = AmountField("Budget from", places=2, validators=[Optional()])
    budget_max = AmountField("Budget up to", places=2, validators=[Optional()])
    closing_soon = BooleanField("Closing within 7 days")
    sort = SelectField("Sort", choices=SORTS, default="deadline")
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=10_000)])

    def valid_value(self, name: str):
        """The field's value if it passed validation, else None (ignored)."""
        field = self[name]
        if field.errors:
            return None
        return field.data if field.data not in ("", None) else None

    def status_value(self) -> TenderStatus | None:
        value = self.valid_value("status") or "open"
        return None if value == "all" else TenderStatus(value)
