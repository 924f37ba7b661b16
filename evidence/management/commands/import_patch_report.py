"""python manage.py import_patch_report FILE --client SLUG [--preset P] [--report-date DAY]:
import_tool_report --kind patches, kept under the name the docs and scripts already use."""

from .import_tool_report import Command as ToolReportCommand


class Command(ToolReportCommand):
    kind = "patches"
    help = (
        "Import a patch report (device, patch or KB id, severity, release date, install date "
        "or status). Re-importing the same report changes nothing; a bad row is reported by "
        "row, column and value and the others are imported."
    )
