"""Tool-report rows are kept per contract, not per client: a client with two MSPs has two
contracts, and one MSP's report must not judge, show or overwrite the other's rows. The
contract is added empty, filled from each row's report, then required; the natural keys move
from client + key to contract + key."""

import django.db.models.deletion
from django.db import migrations, models

ROW_MODELS = ("patchrow", "backupjobrow", "restoretestrow", "phishingrow", "technicianmfarow")
KEYS = {
    "patchrow": (["device", "patch"], "one_patch_row_per_device_and_patch"),
    "backupjobrow": (["job", "device", "started"], "one_backup_run_per_start"),
    "restoretestrow": (["system", "tested_on"], "one_restore_test_per_system_day"),
    "phishingrow": (["campaign", "sent_on"], "one_phishing_campaign_per_day"),
}


def contracts_from_reports(apps, schema_editor):
    """Each row belongs to the contract of the report that wrote it."""
    ToolReport = apps.get_model("evidence", "ToolReport")
    for name in ROW_MODELS:
        model = apps.get_model("evidence", name)
        model.objects.update(
            contract_id=models.Subquery(
                ToolReport.objects.filter(pk=models.OuterRef("report_id")).values("contract_id")[:1]
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_tool_report_kinds"),
    ]

    operations = [
        *[
            migrations.RemoveConstraint(model_name=name, name=constraint)
            for name, (_fields, constraint) in KEYS.items()
        ],
        *[
            migrations.AddField(
                model_name=name,
                name="contract",
                field=models.ForeignKey(
                    null=True,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="contracts.contract",
                ),
            )
            for name in ROW_MODELS
        ],
        migrations.RunPython(contracts_from_reports, migrations.RunPython.noop),
        *[
            migrations.AlterField(
                model_name=name,
                name="contract",
                field=models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="+",
                    to="contracts.contract",
                ),
            )
            for name in ROW_MODELS
        ],
        *[
            migrations.AddConstraint(
                model_name=name,
                constraint=models.UniqueConstraint(
                    fields=["contract", *fields], name=constraint
                ),
            )
            for name, (fields, constraint) in KEYS.items()
        ],
    ]
