"""Saved mappings get a client: an MSP-wide one is written only by the MSP's own writers.

A mapping saved MSP-wide by someone who is not a writing member of that MSP (an advisor, before
this change) pre-filled the MSP's imports for clients that person cannot see: such rows are
removed. Nothing else is lost; the next import guesses its mapping from the export's layout."""

import django.db.models.deletion
from django.db import migrations, models

WRITE_ROLES = ["admin", "member"]


def remove_mappings_saved_by_outsiders(apps, schema_editor):
    SavedMapping = apps.get_model("kpis", "SavedMapping")
    Membership = apps.get_model("contracts", "Membership")
    for saved in SavedMapping.objects.filter(client__isnull=True):
        writer = Membership.objects.filter(
            user_id=saved.updated_by_id, organisation_id=saved.msp_id, role__in=WRITE_ROLES
        )
        if saved.updated_by_id is None or not writer.exists():
            saved.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_matrix_area_categories"),
        ("kpis", "0004_snapshot_content_hash"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="savedmapping",
            name="one_mapping_name_per_msp",
        ),
        migrations.AddField(
            model_name="savedmapping",
            name="client",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: the MSP's own mapping, for all its clients",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contracts.organisation",
            ),
        ),
        migrations.AddConstraint(
            model_name="savedmapping",
            constraint=models.UniqueConstraint(
                condition=models.Q(("client__isnull", True)),
                fields=("msp", "name"),
                name="one_mapping_name_per_msp",
            ),
        ),
        migrations.AddConstraint(
            model_name="savedmapping",
            constraint=models.UniqueConstraint(
                condition=models.Q(("client__isnull", False)),
                fields=("msp", "client", "name"),
                name="one_mapping_name_per_msp_client",
            ),
        ),
        migrations.RunPython(remove_mappings_saved_by_outsiders, migrations.RunPython.noop),
    ]
