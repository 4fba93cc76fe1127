"""The account page's form for a new personal API token."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import InputRequired, Length

from marketplace.forms import reject_control_chars, strip
from marketplace.models import TokenScope

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class NewApiTokenForm(FlaskForm):
    name = StringField("Token name", filters=[strip],
                       validators=[InputRequired(), Length(max=80), reject_control_chars],
                       description="What it is for, e.g. “council tender sync”.")
    scope = SelectField("Access", choices=[
        (TokenScope.READ.value, "Read only"),
        (TokenScope.READ_WRITE.value, "Read and write (tenders and profiles you manage)")],
        default=TokenScope.READ.value)
    expires_in_days = SelectField("Expires after", choices=EXPIRY_CHOICES, default="90")
    submit = SubmitField("Create token")
