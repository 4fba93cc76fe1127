from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.models import AllianceRole

ID_RE = r"^\d{1,12}$"


class AllianceForm(FlaskForm):
    name = StringField("Alliance name",
                       validators=[InputRequired(), Length(min=3, max=120), reject_control_chars],
                       filters=[strip])
    summary = TextAreaField(
        "Short summary", validators=[Optional(), Length(max=280), reject_control_chars_multiline],
        filters=[strip], description="One or two sentences: who you are and what you take on "
                                     "together.")
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=10_000),
                                   reject_control_chars_multiline],
        filters=[strip], description="How you work together, typical jobs, how to reach you. "
                                     "Markdown: **bold**, lists, links.")
    service_area = StringField(
        "Service area", validators=[Optional(), Length(max=200), reject_control_chars],
        filters=[strip], description="For example: Bristol, Bath and North East Somerset.")
    version = HiddenField(validators=[Optional(), Regexp(ID_RE)])
    submit = SubmitField("Save alliance")


class CreateAllianceForm(AllianceForm):
    organisation_id = SelectField("Lead organisation", choices=[],
                                  description="Your organisation becomes the alliance's "
                                              "first lead.")
    submit = SubmitField("Create alliance")

    field_order = ("organisation_id", "name", "summary", "description", "service_area")

    def __iter__(self):
        ordered = [self[name] for name in self.field_order]
        rest = [f for f in super().__iter__() if f.name not in self.field_order]
        return iter([*ordered, *rest])


class InviteOrganisationForm(FlaskForm):
    organisation = StringField(
        "Organisation", validators=[InputRequired(), Length(max=120), reject_control_chars],
        filters=[strip], render_kw={"list": "organisation-options", "autocomplete": "off"},
        description="Its name or web address (the last part of its page's address).")
    message = TextAreaField("Message (optional)",
                            validators=[Optional(), Length(max=1000),
                                        reject_control_chars_multiline],
                            filters=[strip])
    submit = SubmitField("Send invitation")


class OrganisationChoiceForm(FlaskForm):
    """Leave: which of my member organisations leaves."""

    organisation_id = HiddenField(validators=[InputRequired(), Regexp(ID_RE)])
    submit = SubmitField("Leave alliance")


class MemberRoleForm(FlaskForm):
    role = SelectField("Role", choices=[(AllianceRole.MEMBER.value, "Member"),
                                        (AllianceRole.LEAD.value, "Lead")])
    submit = SubmitField("Change role")
