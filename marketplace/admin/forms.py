"""Forms of the admin area."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp

from marketplace.forms import reject_control_chars, strip


class ImportForm(FlaskForm):
    kind = SelectField("The file contains", choices=[
        ("organisations", "Organisations: JSON Lines or CSV member list"),
        ("tenders", "Tenders: JSON Lines or OCDS release package"),
    ])
    file = FileField("File", validators=[FileRequired("Choose a file to import.")])
    source = StringField(
        "Source name", filters=[strip],
        validators=[Optional(), Length(max=80), reject_control_chars,
                    Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                           message="Use letters, digits, dots, dashes and underscores.")],
        description="Where the ids come from, e.g. chamber-bristol. Re-import with the same "
                    "name to update instead of duplicating. Leave empty for the default.")
    dry_run = BooleanField("Dry run: check the file and count changes, save nothing")
    submit = SubmitField("Import")
