"""Marshmallow schemas: what the API accepts and returns.

The same classes validate requests (``load``), shape responses (``dump``) and, through
apispec, make the OpenAPI document, so the document cannot drift from the behaviour.
Unknown fields in a request body are refused (marshmallow's RAISE), which also keeps
mass assignment out: ``status``, ``buyer`` of an existing tender or ``published_at`` are
simply not fields of any input schema.
"""

import re
from datetime import date
from urllib.parse import urlsplit

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from marketplace import cpv
from marketplace.models import RequirementKind, SizeBand, TenderStatus
from marketplace.profiles.services import MAX_CERTIFICATIONS
from marketplace.profiles.services import MAX_CPV_CODES as MAX_PROFILE_CPV_CODES
from marketplace.tenders.services import CURRENCIES, MAX_CPV_CODES, MAX_REQUIREMENTS

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CAPABILITIES = 30
TAG_RE = re.compile(r"^[\w][\w &+/'.()-]*$")
PHONE_RE = r"^\+?[0-9][0-9 ()-]{5,38}$"
POSTCODE_RE = r"^[A-Za-z0-9][A-Za-z0-9 ]{1,10}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _one_line(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Remove control characters.")


def _multi_line(value: str) -> None:
    if _CONTROL_MULTILINE.search(value):
        raise ValidationError("Remove control characters.")


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise ValidationError("Enter a web address starting with https:// or http://.")


def _cpv_code(value: str) -> None:
    if not cpv.is_valid_code(value):
        raise ValidationError("Unknown CPV code.")


def line_field(max_len: int, *, min_len: int = 0, **kw) -> fields.String:
    return fields.String(validate=[validate.Length(min=min_len, max=max_len), _one_line], **kw)


def text_field(max_len: int, **kw) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_len), _multi_line], **kw)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


# -- common ---------------------------------------------------------------------------------

class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={
        "description": "Machine-readable: bad_request, unauthorized, forbidden, not_found, "
                       "conflict, payload_too_large, validation_failed, rate_limited ...",
        "example": "validation_failed"})
    message = fields.String(required=True, metadata={"example": "Please check the fields."})
    reference = fields.String(metadata={"description": "Quote it to support (500 only)."})
    field_errors = fields.Dict(
        keys=fields.String(), values=fields.String(), required=True, data_key="fields",
        metadata={"description": "Field path -> problem (empty if none).",
                  "example": {"title": "Missing data for required field."}})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ListArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT,
                           validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"Items per page (1-{MAX_LIMIT})."})
    cursor = fields.String(validate=validate.Length(max=200), metadata={
        "description": "Opaque: the next_cursor of the previous page."})


class PageSchema(Schema):
    next_cursor = fields.String(allow_none=True, required=True, metadata={
        "description": "Pass as ?cursor= for the next page; null on the last page."})


class OrgRefSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)


# -- organisations --------------------------------------------------------------------------

class CertificationSchema(Schema):
    name = fields.String(required=True)
    issuer = fields.String(allow_none=True, required=True)
    number = fields.String(allow_none=True, required=True, metadata={
        "description": "Only for the organisation's owners and admins (the profile page does "
                       "not show it)."})
    valid_until = fields.Date(allow_none=True, required=True)


class OrganisationSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    summary = fields.String(required=True)
    is_buyer = fields.Boolean(required=True)
    published = fields.Boolean(required=True)
    description = fields.String(required=True, metadata={"description": "Markdown."})
    capabilities = fields.List(fields.String(), required=True)
    cpv_codes = fields.List(fields.String(), required=True)
    certifications = fields.List(fields.Nested(CertificationSchema), required=True, metadata={
        "description": "Expired ones are listed too; compare valid_until with today."})
    size = fields.String(allow_none=True, required=True,
                         validate=validate.OneOf([s.value for s in SizeBand]))
    employees = fields.Integer(allow_none=True, required=True)
    year_founded = fields.Integer(allow_none=True, required=True)
    website = fields.String(allow_none=True, required=True)
    contact_name = fields.String(allow_none=True, required=True, metadata={
        "description": "Only for authenticated callers."})
    contact_email = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    town = fields.String(allow_none=True, required=True)
    postcode = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True)
    lat = fields.Float(allow_none=True, required=True)
    lon = fields.Float(allow_none=True, required=True)
    service_radius_km = fields.Integer(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={
        "description": "Profile version; send it back when updating (0: no profile yet)."})
    url = fields.String(required=True)


class OrganisationListSchema(PageSchema):
    data = fields.List(fields.Nested(OrganisationSchema), required=True)


class CertificationInputSchema(StrictSchema):
    name = line_field(120, min_len=1, required=True, metadata={"example": "ISO 9001"})
    issuer = line_field(120, allow_none=True, metadata={"example": "BSI"})
    number = line_field(80, allow_none=True)
    valid_until = fields.Date(allow_none=True, metadata={
        "description": "Leave out or null if it does not expire."})

    @validates("name")
    def _name(self, value, **_):
        if not value.strip():
            raise ValidationError("Enter the certification's name.")


class ProfileUpdateSchema(StrictSchema):
    """Fields left out keep their current value; send null to clear an optional one.
    The lists (capabilities, cpv_codes, certifications) replace the current ones."""

    version = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9),
                             metadata={"description": "The version you read (409 if stale)."})
    name = line_field(120, min_len=2)
    summary = text_field(280)
    description = text_field(20_000)
    capabilities = fields.List(line_field(60, min_len=1), validate=validate.Length(
        max=MAX_CAPABILITIES))
    size = fields.String(allow_none=True, validate=validate.OneOf([s.value for s in SizeBand]))
    employees = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    year_founded = fields.Integer(allow_none=True, validate=validate.Range(min=1600, max=2100))
    website = line_field(300, allow_none=True)
    contact_name = line_field(120, allow_none=True)
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Regexp(PHONE_RE))
    town = line_field(120, allow_none=True)
    postcode = fields.String(allow_none=True, validate=validate.Regexp(POSTCODE_RE))
    region = line_field(120, allow_none=True)
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    service_radius_km = fields.Integer(allow_none=True,
                                       validate=validate.Range(min=0, max=1000))
    cpv_codes = fields.List(
        fields.String(validate=[validate.Regexp(r"^[0-9]{8}$"), _cpv_code],
                      metadata={"example": "45261000"}),
        validate=validate.Length(max=MAX_PROFILE_CPV_CODES),
        metadata={"description": "8-digit CPV codes from the CPV 2008 vocabulary; replaces "
                                 "the profile's codes."})
    certifications = fields.List(
        fields.Nested(CertificationInputSchema),
        validate=validate.Length(max=MAX_CERTIFICATIONS),
        metadata={"description": "Replaces the profile's certifications."})
    published = fields.Boolean(metadata={
        "description": "Publish (true) or unpublish (false) the profile, after the other "
                       "changes. Publishing needs a summary, a description, a capability or "
                       "CPV code and a location (422 naming `published` otherwise)."})

    @validates("website")
    def _website(self, value, **_):
        if value:
            _http_url(value)

    @validates("capabilities")
    def _tags(self, value, **_):
        for tag in value:
            if not TAG_RE.match(" ".join(tag.split()).lower()):
                raise ValidationError(f"“{tag[:40]}” has characters we do not accept in a tag.")

    @validates("year_founded")
    def _year(self, value, **_):
        if value is not None and value > date.today().year:
            raise ValidationError("The year founded cannot be in the future.")

    @validates_schema(skip_on_field_errors=False)
    def _both_coordinates(self, data, **_):
        if ("lat" in data) != ("lon" in data) or (
                "lat" in data and (data["lat"] is None) != (data["lon"] is None)):
            raise ValidationError("Give both latitude and longitude, or neither.", "lon")


# -- alliances ------------------------------------------------------------------------------

class AllianceMemberSchema(Schema):
    organisation = fields.Nested(OrgRefSchema, required=True)
    role = fields.String(required=True, validate=validate.OneOf(["lead", "member"]))


class AllianceSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    summary = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "Markdown."})
    service_area = fields.String(required=True)
    dissolved = fields.Boolean(required=True)
    members = fields.List(fields.Nested(AllianceMemberSchema), required=True)
    capabilities = fields.List(fields.String(), required=True, metadata={
        "description": "Combined, from members' published profiles."})
    cpv_codes = fields.List(fields.String(), required=True)
    url = fields.String(required=True)


class AllianceListSchema(PageSchema):
    data = fields.List(fields.Nested(AllianceSchema), required=True)


# -- projects -------------------------------------------------------------------------------

class ProjectPartnerSchema(Schema):
    organisation = fields.Nested(OrgRefSchema, required=True)
    role = fields.String(required=True)
    is_owner = fields.Boolean(required=True)


class ProjectSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "Markdown."})
    year = fields.Integer(required=True)
    client = fields.String(required=True)
    value_amount = fields.Integer(allow_none=True, required=True)
    currency = fields.String(required=True)
    place = fields.String(required=True)
    owner = fields.Nested(OrgRefSchema, required=True)
    partners = fields.List(fields.Nested(ProjectPartnerSchema), required=True, metadata={
        "description": "Confirmed credits only."})
    alliance_id = fields.Integer(allow_none=True, required=True)
    url = fields.String(required=True)


class ProjectListSchema(PageSchema):
    data = fields.List(fields.Nested(ProjectSchema), required=True)


# -- tenders --------------------------------------------------------------------------------

TENDER_STATUSES = [s.value for s in TenderStatus]


class RequirementSchema(StrictSchema):
    kind = fields.String(required=True,
                         validate=validate.OneOf([k.value for k in RequirementKind]))
    value = line_field(200, min_len=1, required=True, metadata={"example": "roofing"})

    @validates_schema
    def _cpv_requirement(self, data, **_):
        if data.get("kind") == RequirementKind.CPV.value and not cpv.is_valid_code(
                data.get("value", "")):
            raise ValidationError("Unknown CPV code.", "value")


class TenderDocumentSchema(Schema):
    name = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    url = fields.String(required=True)


class ClarificationSchema(Schema):
    question = fields.String(required=True)
    answer = fields.String(allow_none=True, required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)


class TenderSchema(Schema):
    class Meta:
        ordered = True

    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(TENDER_STATUSES),
                           metadata={"description": "Effective status: an open tender whose "
                                                    "deadline passed is closed."})
    buyer = fields.Nested(OrgRefSchema, required=True)
    cpv_codes = fields.List(fields.String(), required=True)
    requirements = fields.List(fields.Nested(RequirementSchema), required=True)
    town = fields.String(allow_none=True, required=True)
    region = fields.String(allow_none=True, required=True)
    postcode = fields.String(allow_none=True, required=True)
    lat = fields.Float(allow_none=True, required=True)
    lon = fields.Float(allow_none=True, required=True)
    budget_min = fields.Float(allow_none=True, required=True)
    budget_max = fields.Float(allow_none=True, required=True)
    currency = fields.String(required=True)
    deadline = fields.DateTime(allow_none=True, required=True, metadata={"description": "UTC."})
    deadline_zone = fields.String(required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    documents = fields.List(fields.Nested(TenderDocumentSchema), required=True)
    clarifications = fields.List(fields.Nested(ClarificationSchema), required=True,
                                 metadata={"description": "Answered questions."})
    version = fields.Integer(required=True, metadata={
        "description": "Send it back when updating or publishing (409 if stale)."})
    url = fields.String(required=True)


class TenderListSchema(PageSchema):
    data = fields.List(fields.Nested(TenderSchema), required=True)


class TenderListArgsSchema(ListArgsSchema):
    status = fields.String(validate=validate.OneOf(TENDER_STATUSES), metadata={
        "description": "Effective status filter; drafts only for members of the buyer."})
    buyer_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class TenderTermsSchema(StrictSchema):
    title = line_field(300, min_len=3, metadata={"example": "Repair the library roof"})
    description = text_field(20_000, metadata={"example": "Flat roof, about 400 m2."})
    requirements = fields.List(fields.Nested(RequirementSchema),
                               validate=validate.Length(max=MAX_REQUIREMENTS))
    cpv_codes = fields.List(fields.String(validate=_cpv_code, metadata={"example": "45261000"}),
                            validate=validate.Length(max=MAX_CPV_CODES))
    town = line_field(120, allow_none=True, metadata={"description": "A town Guild knows.",
                                                      "example": "Bristol"})
    budget_min = fields.Decimal(allow_none=True, places=2, validate=validate.Range(
        min=0, max=999_999_999_999))
    budget_max = fields.Decimal(allow_none=True, places=2, validate=validate.Range(
        min=0, max=999_999_999_999))
    currency = fields.String(validate=validate.OneOf(CURRENCIES))
    deadline = fields.AwareDateTime(allow_none=True, metadata={
        "description": "ISO 8601 with a UTC offset."})
    deadline_zone = line_field(64, metadata={"description": "IANA zone the deadline is shown in.",
                                             "example": "Europe/London"})

    @validates_schema
    def _budget_order(self, data, **_):
        low, high = data.get("budget_min"), data.get("budget_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("The maximum must not be below the minimum.", "budget_max")


class TenderCreateSchema(TenderTermsSchema):
    buyer_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1),
                              metadata={"description": "An organisation you manage."})
    title = line_field(300, min_len=3, required=True,
                       metadata={"example": "Repair the library roof"})


class TenderUpdateSchema(TenderTermsSchema):
    """Fields left out keep their current value."""

    version = fields.Integer(required=True, validate=validate.Range(min=1, max=10**9))


class VersionSchema(StrictSchema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=10**9))


# -- search and matches ---------------------------------------------------------------------

SEARCH_KINDS = ["organisation", "alliance", "tender", "project"]


class SearchArgsSchema(ListArgsSchema):
    q = fields.String(required=True, validate=[validate.Length(min=1, max=200), _one_line])
    kind = fields.String(validate=validate.OneOf(SEARCH_KINDS))


class SearchHitSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(SEARCH_KINDS))
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    score = fields.Float(required=True)
    url = fields.String(required=True)
    api_url = fields.String(required=True)


class SearchResultSchema(PageSchema):
    data = fields.List(fields.Nested(SearchHitSchema), required=True)
    total = fields.Integer(required=True, metadata={"description": "May be an estimate."})


class MatchArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class MatchReasonsSchema(Schema):
    terms = fields.List(fields.String(), required=True)
    cpv_codes = fields.List(fields.String(), required=True)
    certifications_covered = fields.List(fields.String(), required=True)
    certifications_missing = fields.List(fields.String(), required=True)
    distance_km = fields.Float(allow_none=True, required=True)
    within_radius = fields.Boolean(allow_none=True, required=True)
    track_record = fields.Integer(required=True)


class MatchSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["organisation", "alliance"]))
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    score = fields.Float(required=True)
    reasons = fields.Nested(MatchReasonsSchema, required=True)
    url = fields.String(required=True)
    api_url = fields.String(required=True)


class MatchListSchema(Schema):
    data = fields.List(fields.Nested(MatchSchema), required=True)
