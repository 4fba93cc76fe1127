from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length

from marketplace.forms import reject_control_chars, strip

EMAIL_FIELD = dict(
    validators=[InputRequired(), Length(max=254), reject_control_chars,
                Email(message="Enter a valid e-mail address, like name@example.com.",
                      check_deliverability=False)],
    filters=[strip],
)
# Length is checked by the password policy, which gives the better message; the cap here
# only stops absurd inputs before hashing.
NEW_PASSWORD_VALIDATORS = [InputRequired(), Length(max=1024)]


class RegisterForm(FlaskForm):
    email = EmailField("E-mail address", **EMAIL_FIELD,
                       render_kw={"autocomplete": "email"})
    display_name = StringField(
        "Your name", validators=[InputRequired(), Length(max=80), reject_control_chars],
        filters=[strip], render_kw={"autocomplete": "name"})
    password = PasswordField(
        "Password", validators=NEW_PASSWORD_VALIDATORS,
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat password", validators=[
        InputRequired(), EqualTo("password", message="The two passwords do not match.")],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Create account")


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[InputRequired(), Length(max=254)],
                       filters=[strip], render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Keep me logged in on this device for 30 days")
    submit = SubmitField("Log in")


class ReauthenticateForm(FlaskForm):
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Confirm")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        "New password", validators=NEW_PASSWORD_VALIDATORS,
        description="At least 12 characters. Every other session will be logged out.",
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password", validators=[
        InputRequired(), EqualTo("new_password", message="The two passwords do not match.")],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Change password")


class ChangeEmailForm(FlaskForm):
    email = EmailField("New e-mail address", **EMAIL_FIELD, render_kw={"autocomplete": "email"})
    password = PasswordField("Current password", validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Change e-mail")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("E-mail address", **EMAIL_FIELD, render_kw={"autocomplete": "email"})
    submit = SubmitField("Send reset link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=NEW_PASSWORD_VALIDATORS,
                             description="At least 12 characters.",
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password", validators=[
        InputRequired(), EqualTo("password", message="The two passwords do not match.")],
        render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set new password")
