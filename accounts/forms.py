"""Forms of the People page and of the invitation link, with errors in words naming the field."""

from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation
from django.utils import timezone

from contracts.models import Membership, Organisation

from .models import Invitation, User


class InvitationForm(forms.Form):
    """Whom to invite to the organisation, and with which role."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "Enter the email address of the person to invite.",
            "invalid": "The email address is not valid: check it for a typing error.",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        initial=Membership.Role.MEMBER,
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose a role from the list: admin, member or read-only.",
        },
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        org = self.organisation
        if Membership.objects.filter(organisation=org, user__email__iexact=email).exists():
            raise forms.ValidationError(f"{email} is already a member of {org.name}.")
        pending = Invitation.objects.filter(
            organisation=org,
            email=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        if pending.exists():
            raise forms.ValidationError(
                f"{email} has an invitation waiting: resend it from the list below."
            )
        return email


class RoleForm(forms.Form):
    """A member's new role."""

    role = forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        error_messages={
            "required": "Choose a role.",
            "invalid_choice": "Choose a role from the list: admin, member or read-only.",
        },
    )


class NewAccountForm(forms.Form):
    """The invited person's name and password, for an email address without an account yet."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Choose a password."},
    )
    password2 = forms.CharField(
        label="The same password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Type the password a second time."},
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ: type the same one twice.")
        elif first:
            person = User(email=self.email, first_name=cleaned.get("first_name", ""))
            try:
                password_validation.validate_password(first, person)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
