"""Reading a patch report (pure: bytes in, rows and problems out), by hand."""

from __future__ import annotations

from datetime import date

from evidence.patch_read import patch_report_read
from evidence.presets import PRESETS

GENERIC = PRESETS["generic"]


def _read(text: str, preset=GENERIC, mapping=None):
    return patch_report_read(text.encode(), "report.csv", preset, mapping)


def test_a_later_row_for_the_same_pair_is_kept_and_the_earlier_named():
    read = _read(
        "device,patch,severity,released,installed\n"
        "PC-1,KB1,Critical,2025-07-09,\n"
        "PC-2,KB1,Critical,2025-07-09,2025-07-10\n"
        "PC-1,KB1,Critical,2025-07-09,2025-07-20\n"
    )
    assert [(r["device"], r["installed"]) for r in read.rows] == [
        ("PC-2", date(2025, 7, 10)),
        ("PC-1", date(2025, 7, 20)),
    ]
    assert read.problems == [
        {
            "row": 4,
            "column": "patch",
            "value": "KB1",
            "reason": "the same device and patch as row 2: this later row is kept",
        }
    ]


def test_an_install_before_the_release_is_left_out_naming_both_dates():
    read = _read(
        "device,patch,severity,released,installed\n"
        "PC-1,KB1,Critical,2025-07-09,2025-07-01\n"
        "PC-2,KB1,Critical,2025-07-09,2025-07-10\n"
    )
    assert [r["device"] for r in read.rows] == ["PC-2"]
    assert read.problems == [
        {
            "row": 2,
            "column": "installed",
            "value": "2025-07-01",
            "reason": "installed before its release on 2025-07-09",
        }
    ]


def test_installed_without_a_date_is_kept_with_a_problem_and_an_empty_field_is_named():
    read = _read(
        "Device,Patch,Severity,Released,Status\n"
        "PC-1,KB1,Critical,2025-07-09,Installed\n"
        ",KB1,Critical,2025-07-09,Missing\n"
    )
    assert [(r["device"], r["installed"], r["status"]) for r in read.rows] == [
        ("PC-1", None, "Installed")
    ]
    assert [(p["row"], p["column"], p["reason"]) for p in read.problems] == [
        (2, "Status", "installed without a date: it cannot be shown on time"),
        (3, "Device", "the device is empty"),
    ]


def test_day_first_dates_are_told_from_a_day_above_twelve():
    read = _read(
        "Computer Name,KBID,Severity,Release Date,Date Installed\n"
        "PC-1,KB1,Critical,13/08/2025,02/09/2025\n",
        PRESETS["cw_automate"],
    )
    assert (read.rows[0]["released"], read.rows[0]["installed"]) == (
        date(2025, 8, 13),
        date(2025, 9, 2),
    )
