"""The column names of patch reports as common RMM tools export them, per field, and the words
that say a patch is installed. docs/evidence.md says where each name comes from and how sure
we are of it: a file whose columns differ is read with the generic mapping (names per field).
Pure."""

from __future__ import annotations

from kpis.imports.ingest.presets import header_key

from .layouts import Layout, Preset, presets_of

FIELDS = ("device", "patch", "severity", "released", "installed", "status")
REQUIRED = ("device", "patch", "severity", "released")
FIELD_WORDS = {
    "device": "device",
    "patch": "patch or KB id",
    "severity": "severity or classification",
    "released": "release date",
    "installed": "install date",
    "status": "install status",
}
# Status words meaning the patch is on the device (compared as header keys: case and spacing
# do not matter).
INSTALLED_WORDS = {"installed", "success", "succeeded", "patched", "compliant", "complete"}

PRESETS: dict[str, Preset] = presets_of(
    Preset(
        "ninjaone",
        "NinjaOne",
        {
            "device": ("Device", "Device Name", "System Name"),
            "patch": ("KB Number", "KB", "Patch Name", "Name"),
            "severity": ("Severity", "Impact"),
            "released": ("Release Date", "Released"),
            "installed": ("Installed At", "Installed", "Install Date"),
            "status": ("Status",),
        },
    ),
    Preset(
        "datto_rmm",
        "Datto RMM",
        {
            "device": ("Device Hostname", "Hostname", "Device"),
            "patch": ("KB", "Patch ID", "Patch Name", "Patch"),
            "severity": ("Priority", "Classification", "Category", "Severity"),
            "released": ("Release Date", "Date Released"),
            "installed": ("Install Date", "Installed On", "Date Installed"),
            "status": ("Patch Status", "Status"),
        },
    ),
    Preset(
        "nable",
        "N-able (N-central, N-sight)",
        {
            "device": ("Device Name", "Device", "Computer Name"),
            "patch": ("KB Article", "KB", "Patch ID", "Patch Name"),
            "severity": ("Severity", "Classification"),
            "released": ("Release Date", "Published Date", "Date Released"),
            "installed": ("Installed Date", "Install Date", "Installation Date"),
            "status": ("Installation Status", "Install Status", "Status"),
        },
    ),
    Preset(
        "cw_automate",
        "ConnectWise Automate",
        {
            "device": ("Computer Name", "Computer", "Name"),
            "patch": ("KBID", "KB Article", "KB"),
            "severity": ("Severity", "Classification", "Category"),
            "released": ("Release Date", "Date Released"),
            "installed": ("Date Installed", "Install Date", "Installed"),
            "status": ("Status", "Install Status"),
        },
    ),
    Preset(
        "generic",
        "Generic (one column per field)",
        {field: (field,) for field in FIELDS},
    ),
)

PATCH_LAYOUT = Layout(
    kind="patches",
    fields=FIELDS,
    required=REQUIRED,
    field_words=FIELD_WORDS,
    date_fields=("released", "installed"),
    presets=PRESETS,
)


def is_installed_word(status: str | None) -> bool:
    return header_key(status or "") in INSTALLED_WORDS
