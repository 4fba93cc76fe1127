"""Forms for the profile editor, the CPV picker, certifications, the logo and the directory."""

import re
from datetime import date
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.models import SizeBand

SIZE_CHOICES = [("", "Not stated"),
                (SizeBand.MICRO.value, "Micro (fewer than 10 people)"),
                (SizeBand.SMALL.value, "Small (10 to 49)"),
                (SizeBand.MEDIUM.value, "Medium (50 to 249)"),
                (SizeBand.LARGE.value, "Large (250 or more)")]
SIZE_LABELS = {value: text for value, text in SIZE_CHOICES if value}
MAX_CAPABILITIES = 30
MAX_TAG_CHARS = 60
TAG_RE = re.compile(r"^[\w][\w &+/'.()-]*$")
PHONE_RE = r"^\+?[0-9][0-9 ()-]{5,38}$"
POSTCODE_RE = r"^[A-Za-z0-9][A-Za-z0-9 ]{1,10}$"


def _blank_to_none(value):
    value = strip(value)
    return value or None


def http_url(form, field):
    """Websites are links we print: only absolute http(s) addresses with a host."""
    if not field.data:
        return
    parts = urlsplit(field.data)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in field.data:
        raise ValidationError("Enter a web address starting with https:// or http://.")


def parse_tags(text: str | None) -> list[str]:
    """Comma- or newline-separated tags, normalised to lower case, de-duplicated, in order."""
    tags = []
    for raw in re.split(r"[,\n;]", text or ""):
        tag = " ".join(raw.split()).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def valid_tags(form, field):
    tags = parse_tags(field.data)
    if len(tags) > MAX_CAPABILITIES:
        raise ValidationError(f"Up to {MAX_CAPABILITIES} capabilities, please.")
    for tag in tags:
        if len(tag) > MAX_TAG_CHARS:
            raise ValidationError(f"“{tag[:20]}…” is longer than {MAX_TAG_CHARS} characters.")
        if not TAG_RE.match(tag):
            raise ValidationError(f"“{tag}” has characters we do not accept in a tag.")


def year_founded_range(form, field):
    if field.data is not None and not (1600 <= field.data <= date.today().year):
        raise ValidationError(f"Enter a year between 1600 and {date.today().year}.")


class ProfileForm(FlaskForm):
    name = StringField("Organisation name", filters=[strip],
                       validators=[InputRequired(), Length(min=2, max=120), reject_control_chars])
    summary = TextAreaField(
        "Short summary", filters=[strip],
        validators=[Optional(), Length(max=280), reject_control_chars_multiline],
        description="One or two sentences shown in the directory: what you do and where.")
    description = TextAreaField(
        "Description", filters=[strip],
        validators=[Optional(), Length(max=20_000), reject_control_chars_multiline],
        render_kw={"rows": 10},
        description="Markdown: **bold**, *italic*, lists with “- ”, links like "
                    "[text](https://example.org). No images or HTML.")
    capabilities = TextAreaField(
        "Capabilities", filters=[strip],
        validators=[Optional(), Length(max=2500), reject_control_chars_multiline, valid_tags],
        description="What you do, as short tags separated by commas, "
                    "e.g. “flat roofing, lead work”.")
    size = SelectField("Size", choices=SIZE_CHOICES, default="")
    employees = IntegerField("Employees", validators=[Optional(),
                                                      NumberRange(min=0, max=10_000_000)])
    year_founded = IntegerField("Year founded", validators=[Optional(), year_founded_range])
    website = StringField("Website", filters=[_blank_to_none],
                          validators=[Optional(), Length(max=300), reject_control_chars,
                                      http_url],
                          description="e.g. https://www.example.co.uk")
    contact_name = StringField("Contact person", filters=[_blank_to_none],
                               validators=[Optional(), Length(max=120), reject_control_chars])
    contact_email = EmailField(
        "Contact e-mail", filters=[_blank_to_none],
        validators=[Optional(), Length(max=254), reject_control_chars,
                    Email(message="Enter a valid e-mail address.",
                          check_deliverability=False)])
    phone = StringField("Phone", filters=[_blank_to_none],
                        validators=[Optional(), Length(max=40), reject_control_chars,
                                    Regexp(PHONE_RE, message="Digits, spaces, brackets and "
                                           "dashes only, e.g. 0117 496 0000.")])
    town = StringField("Town", filters=[_blank_to_none],
                       validators=[Optional(), Length(max=120), reject_control_chars],
                       render_kw={"list": "gazetteer-towns", "autocomplete": "off"},
                       description="Choose a town from the list to fill in its coordinates.")
    postcode = StringField("Postcode", filters=[lambda v: (_blank_to_none(v) or None)
                                                and " ".join(v.split()).upper()],
                           validators=[Optional(), Length(max=12), reject_control_chars,
                                       Regexp(POSTCODE_RE, message="Enter a postcode such as "
                                              "BS1 4DJ.")])
    region = StringField("Region", filters=[_blank_to_none],
                         validators=[Optional(), Length(max=120), reject_control_chars])
    lat = DecimalField("Latitude", places=None,
                       validators=[Optional(), NumberRange(min=-90, max=90,
                                   message="Latitude is between -90 and 90.")],
                       description="Decimal degrees, e.g. 51.4545. Leave empty to use the "
                                   "town's centre.")
    lon = DecimalField("Longitude", places=None,
                       validators=[Optional(), NumberRange(min=-180, max=180,
                                   message="Longitude is between -180 and 180.")],
                       description="Decimal degrees, e.g. -2.5879 (west is negative).")
    service_radius_km = IntegerField(
        "Service radius (km)", validators=[Optional(), NumberRange(min=0, max=1000)],
        description="How far from your base you take on work.")
    version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])
    submit = SubmitField("Save profile")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here, not in validate_lon: Optional() stops a field's chain when it is empty.
        one_missing = (self.lat.data is None) != (self.lon.data is None)
        if one_missing and not (self.lat.errors or self.lon.errors):
            missing = self.lon if self.lon.data is None else self.lat
            missing.errors = [*missing.errors, "Give both latitude and longitude, or neither."]
            return False
        return valid


class CpvSearchForm(FlaskForm):
    """The picker's search: a GET form, so it needs no CSRF token."""

    class Meta:
        csrf = False

    q = StringField("Search CPV codes", filters=[strip],
                    validators=[Optional(), Length(max=100), reject_control_chars],
                    render_kw={"type": "search", "autocomplete": "off"},
                    description="Words (e.g. “roof repair”) or the start of a code "
                                "(e.g. 4526).")


class CpvCodeForm(FlaskForm):
    code = HiddenField(validators=[InputRequired(), Regexp(r"^\d{8}$")])
    submit = SubmitField("Add")


class CertificationForm(FlaskForm):
    name = StringField("Certification", filters=[strip],
                       validators=[InputRequired(), Length(max=120), reject_control_chars],
                       description="e.g. ISO 9001, CHAS, Constructionline Gold")
    issuer = StringField("Issued by", filters=[_blank_to_none],
                         validators=[Optional(), Length(max=120), reject_control_chars])
    number = StringField("Certificate number", filters=[_blank_to_none],
                         validators=[Optional(), Length(max=80), reject_control_chars])
    valid_until = DateField("Valid until", validators=[Optional()],
                            description="Leave empty if it does not expire.")
    submit = SubmitField("Save certification")


class LogoForm(FlaskForm):
    logo = FileField("Logo", description="PNG, JPEG or WebP, at most 2 MB. We resize it to a "
                                         "256 by 256 pixel square.")
    submit = SubmitField("Upload logo")


SORT_CHOICES = [("name", "Name"), ("distance", "Distance"), ("newest", "Newest")]
RADIUS_CHOICES = [("5", "5 km"), ("10", "10 km"), ("25", "25 km"), ("50", "50 km"),
                  ("100", "100 km")]


class DirectoryForm(FlaskForm):
    """The directory's filters: a GET form whose every combination is a bookmarkable URL."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[strip],
                    validators=[Optional(), Length(max=100), reject_control_chars],
                    render_kw={"type": "search", "placeholder": "Name or trade"})
    division = SelectField("CPV division", choices=[], validate_choice=False)
    group = SelectField("CPV group", choices=[], validate_choice=False)
    cpv_class = SelectField("CPV class", choices=[], validate_choice=False)
    tag = StringField("Capability", filters=[strip],
                      validators=[Optional(), Length(max=MAX_TAG_CHARS), reject_control_chars],
                      render_kw={"list": "capability-tags", "autocomplete": "off",
                                 "placeholder": "e.g. flat roofing"})
    near = StringField("Near town", filters=[strip],
                       validators=[Optional(), Length(max=120), reject_control_chars],
                       render_kw={"list": "gazetteer-towns", "autocomplete": "off",
                                  "placeholder": "e.g. Bristol"})
    within = SelectField("Within", choices=RADIUS_CHOICES, validate_choice=False)
    size = SelectField("Size", choices=[("", "Any size"), *SIZE_CHOICES[1:]],
                       validate_choice=False)
    cert = SelectField("Valid certification", choices=[], validate_choice=False)
    sort = SelectField("Sort by", choices=SORT_CHOICES, validate_choice=False)
