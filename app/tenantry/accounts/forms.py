"""Forms of the sign-up, log-in and password-reset pages."""
import unicodedata

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError

from tenantry.accounts.models import User

EXISTING_ACCOUNT = ("This email already has an account. To join with it, enter that account's password "
                    "(or reset it from the log-in page).")


class EmailAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the email is unknown, the password wrong or the person not a member
        # here: the page must not tell a stranger which emails have accounts at which tenants.
        "invalid_login": "That email and password do not match an account of this workspace.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})


class SignupForm(forms.Form):
    """A new person, or a person with an account elsewhere who proves it with their password.

    After validation `existing_user` is the account to join with (None for a new person), and
    `wrong_password` says a password check failed, which counts towards the log-in rate limit.
    """
    email = forms.EmailField(max_length=254,
                             widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))
    full_name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password1 = forms.CharField(label="Password", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validation.password_validators_help_text_html())
    password2 = forms.CharField(label="Password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    existing_user: User | None = None
    wrong_password = False

    def clean_email(self) -> str:
        return User.objects.normalize_email(self.cleaned_data["email"]).lower()

    def clean_password2(self) -> str:
        password1, password2 = self.cleaned_data.get("password1"), self.cleaned_data["password2"]
        if password1 and password1 != password2:
            raise ValidationError("The two passwords differ.", code="password_mismatch")
        return password2

    def clean(self) -> dict:
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password1")
        if not email or not password or self.has_error("password2"):
            return cleaned
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            candidate = User(email=email, full_name=cleaned.get("full_name", ""))
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        elif user.is_active and user.check_password(password):
            self.existing_user = user
        else:
            self.wrong_password = True
            raise ValidationError(EXISTING_ACCOUNT, code="existing_account")
        return cleaned


def _same_email(a: str, b: str) -> bool:
    """Compare as Django's own reset form does, so look-alike Unicode cannot redirect a reset."""
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


class TenantPasswordResetForm(PasswordResetForm):
    def __init__(self, *args, tenant_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant_id = tenant_id

    def get_users(self, email):
        """Active members of this tenant, since the link names its host. Unlike Django's default,
        people without a usable password are included: an owner made by `ensure_member` sets their
        first password this way."""
        users = User.objects.filter(email__iexact=email, is_active=True, memberships__tenant_id=self.tenant_id)
        return (user for user in users if _same_email(email, user.email))
