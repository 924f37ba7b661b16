"""The column names of phishing-simulation results and technician MFA lists as common tools
export them, per field, and the yes / no words their cells use. docs/evidence.md says where
each name comes from and how sure we are of it: a file whose columns differ is read with the
generic mapping (names per field). Pure."""

from __future__ import annotations

from kpis.imports.ingest.presets import header_key

from .layouts import Layout, Preset, presets_of

# Phishing: one row per campaign (recipients, clicked, reported as counts), or one row per
# recipient (the `recipient` column present): then clicked, reported and submitted are a time
# or a yes / no word per recipient, and the rows are summed per campaign (evidence/hygiene.py).
PHISHING_FIELDS = (
    "campaign",
    "sent_on",
    "recipients",
    "clicked",
    "reported",
    "submitted",
    "recipient",
)
PHISHING_REQUIRED = ("campaign", "sent_on", "clicked", "reported")
PHISHING_WORDS = {
    "campaign": "campaign",
    "sent_on": "day it was sent",
    "recipients": "number of recipients",
    "clicked": "clicks",
    "reported": "reports",
    "submitted": "data entered",
    "recipient": "recipient (one row per person)",
}

PHISHING_PRESETS: dict[str, Preset] = presets_of(
    Preset(
        "knowbe4",
        "KnowBe4 (one row per campaign)",
        {
            "campaign": ("Campaign", "Name", "Phishing Security Test", "Campaign Name"),
            "sent_on": ("Started", "Start Date", "Started At", "Sent"),
            "recipients": ("Recipients", "Delivered", "Recipient Count", "Delivered Count"),
            "clicked": ("Clicked", "Clicks", "Clicked Count"),
            "reported": ("Reported", "Reported Count"),
            "submitted": ("Data Entered", "Data Entered Count"),
        },
    ),
    Preset(
        "knowbe4_recipients",
        "KnowBe4 (one row per recipient)",
        {
            "campaign": ("Campaign", "Phishing Security Test", "Campaign Name", "PST"),
            "recipient": ("Email", "Email Address", "User", "Recipient"),
            "sent_on": ("Delivered At", "Delivered", "Scheduled At", "Sent At"),
            "clicked": ("Clicked At", "Clicked"),
            "reported": ("Reported At", "Reported"),
            "submitted": ("Data Entered At", "Data Entered"),
        },
    ),
    Preset(
        "defender",
        "Microsoft Defender attack simulation training",
        {
            "campaign": ("Simulation name", "Simulation", "Name"),
            "sent_on": ("Launch date", "Launch Date Time", "Start date"),
            "recipients": ("Total targeted users", "Targeted users", "Total users"),
            "clicked": ("Clicked", "Compromised", "Compromised users", "Clicked users"),
            "reported": ("Reported", "Reported users"),
            "submitted": ("Credentials supplied", "Submitted credentials", "Entered credentials"),
        },
    ),
    Preset(
        "proofpoint",
        "Proofpoint Security Awareness (PhishAlarm)",
        {
            "campaign": ("Campaign Title", "Campaign Name", "Campaign"),
            "sent_on": ("Campaign Start Date", "Start Date", "Date Sent"),
            "recipients": ("Total Sent", "Emails Sent", "Recipients"),
            "clicked": ("Clicked", "Total Clicks", "Clicks"),
            "reported": ("Reported", "Total Reported", "Reports"),
            "submitted": ("Data Submitted", "Data Entry"),
        },
    ),
    Preset(
        "hoxhunt",
        "Hoxhunt",
        {
            "campaign": ("Training", "Simulation", "Campaign"),
            "sent_on": ("Sent", "Date", "Start Date"),
            "recipients": ("Delivered", "Recipients", "Users"),
            "clicked": ("Failed", "Clicked"),
            "reported": ("Reported", "Success"),
        },
    ),
    Preset(
        "generic",
        "Generic (one column per field)",
        {f: (f,) for f in PHISHING_FIELDS},
    ),
)

PHISHING_LAYOUT = Layout(
    kind="phishing",
    fields=PHISHING_FIELDS,
    required=PHISHING_REQUIRED,
    field_words=PHISHING_WORDS,
    date_fields=("sent_on",),
    presets=PHISHING_PRESETS,
)

# MFA: one row per technician with access to the client's systems.
MFA_FIELDS = ("technician", "mfa", "method")
MFA_REQUIRED = ("technician", "mfa")
MFA_WORDS = {
    "technician": "technician",
    "mfa": "MFA (yes or no)",
    "method": "MFA method",
}

MFA_PRESETS: dict[str, Preset] = presets_of(
    Preset(
        "entra",
        "Microsoft Entra ID (user registration details)",
        {
            "technician": ("User principal name", "UserPrincipalName", "Display name"),
            "mfa": ("Is MFA capable", "Is MFA registered", "isMfaCapable", "isMfaRegistered"),
            "method": ("Methods registered", "Default MFA method", "methodsRegistered"),
        },
    ),
    Preset(
        "psa_technicians",
        "PSA or RMM technician list (ConnectWise, Autotask, NinjaOne, ...)",
        {
            "technician": ("Technician", "Member", "Resource", "User", "Name", "Email"),
            "mfa": (
                "MFA",
                "MFA Enabled",
                "2FA",
                "2FA Enabled",
                "Two-Factor Authentication",
                "Two Factor Enabled",
                "Multi-Factor Authentication",
            ),
            "method": ("MFA Method", "2FA Method", "MFA Type", "Authentication Method"),
        },
    ),
    Preset(
        "generic",
        "Generic (one column per field)",
        {f: (f,) for f in MFA_FIELDS},
    ),
)

MFA_LAYOUT = Layout(
    kind="mfa",
    fields=MFA_FIELDS,
    required=MFA_REQUIRED,
    field_words=MFA_WORDS,
    date_fields=(),
    presets=MFA_PRESETS,
)

# Yes / no words, compared as header keys (case and punctuation do not matter). A cell
# in neither list is a problem naming its row, column and value.
YES_WORDS = {
    "yes",
    "y",
    "true",
    "1",
    "x",
    "enabled",
    "enforced",
    "on",
    "registered",
    "capable",
    "mfa",
    "active",
}
NO_WORDS = {
    "no",
    "n",
    "false",
    "0",
    "disabled",
    "off",
    "not registered",
    "not capable",
    "none",
    "not enabled",
    "not enforced",
    "inactive",
    "",
}


def yes_no(text: str | None) -> bool | None:
    """True for a yes word, False for a no word (an empty cell is no), None for anything
    else."""
    key = header_key(text or "")
    if key in YES_WORDS:
        return True
    if key in NO_WORDS:
        return False
    return None


# Microsoft Entra ID names sign-in methods by key ("microsoftAuthenticatorPush"): the pages say
# them in words. A method not listed is kept as the tool wrote it.
METHOD_WORDS = {
    "microsoftauthenticatorpush": "Microsoft Authenticator (push)",
    "microsoftauthenticatorpasswordless": "Microsoft Authenticator (passwordless)",
    "softwareonetimepasscode": "authenticator app code",
    "hardwareonetimepasscode": "hardware token code",
    "fido2": "FIDO2 security key",
    "passkeydeviceboundauthenticator": "passkey in Microsoft Authenticator",
    "windowshelloforbusiness": "Windows Hello for Business",
    "mobilephone": "text message or call",
    "alternatemobilephone": "text message or call (second phone)",
    "officephone": "office phone call",
    "email": "email",
    "temporaryaccesspass": "temporary access pass",
    "none": "",
}


def method_words(text: str) -> str:
    """ "microsoftAuthenticatorPush, fido2" → "Microsoft Authenticator (push), FIDO2 security
    key"."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    said = [METHOD_WORDS.get(p.lower(), p) for p in parts]
    return ", ".join(s for s in said if s)
