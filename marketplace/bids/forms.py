"""Bid forms. Fields that are not on a form (state, lead, party, tender) cannot be set."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from marketplace.bids.services import CURRENCIES
from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.models import BidRole

ROLE_CHOICES = [(BidRole.MEMBER.value, "Member"), (BidRole.SUBCONTRACTOR.value, "Subcontractor")]


class VersionForm(FlaskForm):
    """A button acting on the version the user is looking at (stale pages are refused)."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1)])
    submit = SubmitField("Submit")


class StartBidForm(FlaskForm):
    party = SelectField("Who is bidding?", choices=[], validate_choice=True,
                        description="One of your organisations on its own, or an alliance "
                                    "your organisation leads.")
    submit = SubmitField("Start a draft bid")


class MemberShareForm(Form):
    organisation_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    role = SelectField("Role", choices=[(r.value, r.value.title()) for r in BidRole])
    work_share = DecimalField("Work share (%)", places=2,
                              validators=[InputRequired("Enter a share (0 to 100)."),
                                          NumberRange(0, 100, "Between 0 and 100.")])


class BidForm(VersionForm):
    price = DecimalField("Total price", places=2,
                         validators=[Optional(), NumberRange(0, 999_999_999_999)],
                         description="Excluding VAT. Members see the exact figure they approve.")
    currency = SelectField("Currency", choices=[(c, c) for c in CURRENCIES])
    proposal = TextAreaField("Proposal", filters=[strip],
                             validators=[Length(max=20_000), reject_control_chars_multiline],
                             description="How the team will do the work: approach, people, "
                                         "timetable.")
    members = FieldList(FormField(MemberShareForm), min_entries=0, max_entries=20)
    submit = SubmitField("Save as a new version")


class AddMemberForm(VersionForm):
    organisation = StringField("Organisation", filters=[strip],
                               validators=[DataRequired("Enter the organisation's name or "
                                                        "web address."), Length(max=120),
                                           reject_control_chars],
                               description="Its name or Guild web address, e.g. "
                                           "bristol-roofing.")
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Add to the bid")


class ApproveForm(VersionForm):
    organisation_id = SelectField("Approve on behalf of", coerce=int, choices=[],
                                  validate_choice=True)
    confirm = BooleanField("I have read this version and approve it for my organisation.",
                           validators=[DataRequired("Tick the box to confirm.")])
    submit = SubmitField("Approve this version")


class DisqualifyForm(FlaskForm):
    reason = TextAreaField("Reason", filters=[strip],
                           validators=[DataRequired("Give the reason."), Length(max=1000),
                                       reject_control_chars_multiline],
                           description="The bidder is told this reason.")
    submit = SubmitField("Disqualify")


class DocumentForm(VersionForm):
    file = FileField("Add a document", validators=[FileRequired("Choose a file.")],
                     description="PDF, ODT, DOCX or XLSX, up to 20 MB.")
    submit = SubmitField("Upload")
