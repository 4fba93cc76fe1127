from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from marketplace.forms import reject_control_chars, reject_control_chars_multiline, strip
from marketplace.models import OrgRole

SLUG_RE = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$"
ROLE_CHOICES = [(OrgRole.MEMBER.value, "Member"), (OrgRole.ADMIN.value, "Admin"),
                (OrgRole.OWNER.value, "Owner")]


class OrganisationForm(FlaskForm):
    name = StringField("Organisation name",
                       validators=[InputRequired(), Length(min=2, max=120), reject_control_chars],
                       filters=[strip])
    slug = StringField(
        "Web address", validators=[Optional(), Length(min=2, max=80),
                                   Regexp(SLUG_RE, message="Use lower-case letters, digits and "
                                          "hyphens, starting and ending with a letter or digit.")],
        filters=[lambda v: strip(v).lower() if isinstance(v, str) else v],
        description="The last part of your page's address, e.g. bristol-joinery. "
                    "Leave empty to make one from the name.")
    summary = TextAreaField("Short summary",
                            validators=[Optional(), Length(max=280),
                                        reject_control_chars_multiline],
                            filters=[strip],
                            description="One or two sentences: what you do and where.")
    submit = SubmitField("Create organisation")


class InviteMemberForm(FlaskForm):
    email = EmailField("E-mail address", validators=[
        InputRequired(), Length(max=254), reject_control_chars,
        Email(message="Enter a valid e-mail address.", check_deliverability=False)],
        filters=[strip])
    role = SelectField("Role", choices=ROLE_CHOICES, default=OrgRole.MEMBER.value)
    submit = SubmitField("Send invitation")


class ChangeRoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Change role")


class SwitchOrganisationForm(FlaskForm):
    organisation_id = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,12}$")])
    submit = SubmitField("Act for this organisation")
