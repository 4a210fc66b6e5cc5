"""Sign-up, log-in, log-out and password reset at a tenant's host."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.generic import FormView

from tenantry.accounts import ratelimit, services
from tenantry.accounts.forms import EmailAuthenticationForm, SignupForm, TenantPasswordResetForm

BACKEND = "tenantry.accounts.backends.TenantMembershipBackend"
TOO_MANY = "Too many failed attempts with this email or from your network. Try again in {seconds} seconds."
TOO_MANY_RESETS = "Too many reset requests for this email or from your network. Try again in {seconds} seconds."


def too_many(view, form, message: str, seconds: int):
    """The form page again with the message, HTTP 429 and Retry-After."""
    response = view.render_to_response(view.get_context_data(form=form, limited=message.format(seconds=seconds)),
                                       status=429)
    response["Retry-After"] = str(seconds)
    return response


class RateLimitedPasswordMixin:
    """Refuse POSTs while the email or address is limited (HTTP 429, the page again, a clear
    message), before any password is checked. `email_field` names the form's email field."""
    email_field: str

    def posted_email(self) -> str:
        return self.request.POST.get(self.email_field, "")

    def post(self, request, *args, **kwargs):
        wait = ratelimit.retry_after(request, self.posted_email())
        if wait is None:
            return super().post(request, *args, **kwargs)
        # An unbound form: rendering a bound one would validate it, and so check the password.
        form = self.get_form_class()(**{**self.get_form_kwargs(), "data": None, "files": None,
                                        "initial": {self.email_field: self.posted_email()}})
        return too_many(self, form, TOO_MANY, wait)


class LoginView(RateLimitedPasswordMixin, auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "accounts/login.html"
    email_field = "username"

    def form_invalid(self, form):
        ratelimit.record_failure(self.request, self.posted_email())
        return super().form_invalid(form)


class SignupView(RateLimitedPasswordMixin, FormView):
    form_class = SignupForm
    template_name = "accounts/signup.html"
    email_field = "email"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        tenant = self.request.tenant
        user = form.existing_user
        if user is not None:
            services.join_tenant(user, tenant.id)
            messages.success(self.request, f"Welcome to {tenant.display_name}: you joined with your existing account.")
        else:
            data = form.cleaned_data
            try:
                user = services.sign_up(email=data["email"], full_name=data["full_name"],
                                        password=data["password1"], tenant_id=tenant.id)
            except services.EmailTaken:
                form.add_error("email", "This email already has an account: log in instead.")
                return self.form_invalid(form)
            messages.success(self.request, f"Welcome to {tenant.display_name}: your free trial has started.")
        login(self.request, user, backend=BACKEND)
        return redirect(settings.LOGIN_REDIRECT_URL)

    def form_invalid(self, form):
        if form.wrong_password:
            ratelimit.record_failure(self.request, self.posted_email())
        return super().form_invalid(form)


class PasswordResetView(auth_views.PasswordResetView):
    """The email's link is built from the request, so it points at this tenant's own host."""
    form_class = TenantPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tenant_id": self.request.tenant.id}

    def post(self, request, *args, **kwargs):
        wait = ratelimit.reset_retry_after(request, request.POST.get("email", ""))
        if wait is None:
            return super().post(request, *args, **kwargs)
        return too_many(self, self.get_form(), TOO_MANY_RESETS, wait)

    def form_valid(self, form):
        self.extra_email_context = {"workspace": self.request.tenant.display_name}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
