from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from marketplace.clock import now
from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.projects.services import MAX_PARTNERS

ID_RE = r"^\d{1,12}$"
CURRENCIES = [("GBP", "£ GBP"), ("EUR", "€ EUR"), ("USD", "$ USD")]
ORG_LIST = {"list": "organisation-options", "autocomplete": "off"}


def not_in_future(form, field):
    if field.data is not None and field.data > now().year:
        raise ValidationError("Enter the year the job was finished; it cannot be in the future.")


class PartnerEntryForm(Form):
    """One credited partner on the create form; both fields empty means "no partner"."""

    organisation = StringField("Partner organisation",
                               validators=[Optional(), Length(max=120), reject_control_chars],
                               filters=[strip], render_kw=ORG_LIST)
    role = StringField("Their role", validators=[Optional(), Length(max=80),
                                                 reject_control_chars],
                       filters=[strip], description="For example: electrical installation.")

    def validate_role(self, field):
        if self.organisation.data and not field.data:
            raise ValidationError("Say what this partner did.")
        if field.data and not self.organisation.data:
            raise ValidationError("Name the partner organisation too.")


class ProjectForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=3, max=160),
                                             reject_control_chars], filters=[strip])
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=10_000),
                                   reject_control_chars_multiline], filters=[strip],
        description="What was done, how you shared the work, the result. Markdown allowed.")
    year = IntegerField("Year finished", validators=[
        InputRequired(message="Enter the year the job was finished."),
        NumberRange(min=1900, max=2100, message="Enter a year such as 2024."), not_in_future])
    client = StringField("Client (optional)", validators=[Optional(), Length(max=160),
                                                         reject_control_chars], filters=[strip])
    value_amount = IntegerField("Contract value (optional)", validators=[
        Optional(), NumberRange(min=0, max=10**12, message="Enter a whole amount, 0 or more.")],
        description="Whole units, no symbols: 120000.")
    currency = SelectField("Currency", choices=CURRENCIES, default="GBP")
    place = StringField("Place", validators=[InputRequired(), Length(max=120),
                                             reject_control_chars], filters=[strip],
                        description="Town or site, e.g. Keynsham.")
    owner_role = StringField("Your organisation's role",
                             validators=[InputRequired(), Length(max=80), reject_control_chars],
                             filters=[strip], default="Main contractor")
    version = HiddenField(validators=[Optional(), Regexp(ID_RE)])
    submit = SubmitField("Save project")


class CreateProjectForm(ProjectForm):
    organisation_id = SelectField("Posted by", choices=[])
    partners = FieldList(FormField(PartnerEntryForm), min_entries=3, max_entries=MAX_PARTNERS)
    submit = SubmitField("Post project")


class CreditForm(FlaskForm):
    organisation = StringField("Partner organisation",
                               validators=[InputRequired(), Length(max=120),
                                           reject_control_chars],
                               filters=[strip], render_kw=ORG_LIST)
    role = StringField("Their role", validators=[InputRequired(), Length(max=80),
                                                 reject_control_chars], filters=[strip])
    submit = SubmitField("Credit partner")


class AnswerCreditForm(FlaskForm):
    version = HiddenField(validators=[InputRequired(), Regexp(ID_RE)])
    submit = SubmitField("Confirm")


class PhotoForm(FlaskForm):
    photo = FileField("Photo", validators=[FileRequired("Choose a photo to upload.")],
                      description="JPEG, PNG or WebP, up to 5 MB. Shown cropped to 3:2.",
                      render_kw={"accept": "image/jpeg,image/png,image/webp"})
    caption = StringField("Caption (optional)", validators=[Optional(), Length(max=200),
                                                            reject_control_chars],
                          filters=[strip])
    submit = SubmitField("Upload photo")


class AllianceLinkForm(FlaskForm):
    alliance_id = SelectField("Alliance", choices=[])
    submit = SubmitField("Save")
