"""Forms of the search pages.

``SearchForm`` is a GET form without CSRF, so every result page is a bookmarkable URL. It
never fails: whatever arrives is cut to size and cleaned by the views, and what cannot be
used is ignored with a note, because a search box must answer any text.
"""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from marketplace.forms import reject_control_chars, strip

KIND_TABS = [("", "All"), ("organisation", "Businesses"), ("alliance", "Alliances"),
             ("tender", "Tenders"), ("project", "Projects")]
RADIUS_CHOICES = [("5", "5 km"), ("10", "10 km"), ("25", "25 km"), ("50", "50 km"),
                  ("100", "100 km")]
SIZE_CHOICES = [("", "Any size"), ("micro", "Micro (fewer than 10)"),
                ("small", "Small (10 to 49)"), ("medium", "Medium (50 to 249)"),
                ("large", "Large (250 or more)")]
STATUS_CHOICES = [("", "Any status"), ("open", "Open"), ("closed", "Closed"),
                  ("awarded", "Awarded")]
# Longer text is cut (at a word) rather than refused: the box answers anything.
MAX_Q_CHARS = 200


def _cut(value):
    if not isinstance(value, str):
        return value
    value = value.strip()
    return value[:MAX_Q_CHARS]


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", filters=[_cut],
                    render_kw={"type": "search", "autocomplete": "off", "maxlength": MAX_Q_CHARS,
                               "placeholder": "Trade, firm, tender or “exact phrase”"})
    kind = HiddenField()
    division = SelectField("CPV division", choices=[], validate_choice=False)
    group = SelectField("CPV group", choices=[], validate_choice=False)
    cpv_class = SelectField("CPV class", choices=[], validate_choice=False)
    near = StringField("Near town", filters=[strip],
                       render_kw={"list": "search-towns", "autocomplete": "off",
                                  "placeholder": "e.g. Bristol"})
    within = SelectField("Within", choices=RADIUS_CHOICES, validate_choice=False)
    size = SelectField("Size", choices=SIZE_CHOICES, validate_choice=False)
    cert = SelectField("Valid certification", choices=[], validate_choice=False)
    status = SelectField("Tender status", choices=STATUS_CHOICES, validate_choice=False)


class SaveSearchForm(FlaskForm):
    """Save the search in the page's query string under a name (POST, with CSRF)."""

    name = StringField("Name", filters=[strip],
                       validators=[Optional(), Length(max=120), reject_control_chars],
                       render_kw={"placeholder": "e.g. Roofing near Bath"})
    submit = SubmitField("Save this search")
