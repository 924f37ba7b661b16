"""Versions of the rules change by agreement (issue 24): approvals on SLA versions, effective
dates on matrix versions, withdrawn / replaced states, and triggers that keep a version's
content fixed whatever writes to it (pages, API, shell or the Django admin)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def agreed_as_before(apps, schema_editor):
    """SLA versions written before approvals existed were in force at once: they stay agreed, so
    no figure changes. Matrix versions take effect from their contract's start, as they did."""
    SlaPolicyVersion = apps.get_model("contracts", "SlaPolicyVersion")
    Matrix = apps.get_model("contracts", "ResponsibilityMatrixVersion")
    for version in SlaPolicyVersion.objects.all():
        version.client_approved_at = version.msp_approved_at = version.created_at
        version.save(update_fields=["client_approved_at", "msp_approved_at"])
    for version in Matrix.objects.select_related("contract"):
        version.effective_from = version.contract.starts
        version.save(update_fields=["effective_from"])


# Columns that may change on a version row: who (a deleted user is set to null), approvals and
# the end of its life (each only from empty to set, checked below), and the results a
# correction changes (refreshed when approved). Everything else is its content.
_MAY_CHANGE = (
    "created_by_id client_approved_by_id msp_approved_by_id withdrawn_by_id changes_results "
    "client_approved_at msp_approved_at withdrawn_at superseded_at"
).split()

FIXED_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION contracts_version_fixed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'A version of the agreed rules is never deleted (%).', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (to_jsonb(NEW) - ARRAY{_MAY_CHANGE!r}) <> (to_jsonb(OLD) - ARRAY{_MAY_CHANGE!r})
       OR (OLD.client_approved_at IS NOT NULL
           AND NEW.client_approved_at IS DISTINCT FROM OLD.client_approved_at)
       OR (OLD.msp_approved_at IS NOT NULL
           AND NEW.msp_approved_at IS DISTINCT FROM OLD.msp_approved_at)
       OR (OLD.withdrawn_at IS NOT NULL AND NEW.withdrawn_at IS DISTINCT FROM OLD.withdrawn_at)
       OR (OLD.superseded_at IS NOT NULL
           AND NEW.superseded_at IS DISTINCT FROM OLD.superseded_at) THEN
        RAISE EXCEPTION 'The terms of a proposed or agreed version never change (%): '
            'propose a new version, or a correction.', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION contracts_terms_fixed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The terms of a proposed or agreed version never change (%): '
        'propose a new version, or a correction.', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;
"""

VERSION_TABLES = ["contracts_slapolicyversion", "contracts_responsibilitymatrixversion"]
TERM_TABLES = [
    "contracts_calendar",
    "contracts_slatarget",
    "contracts_uptimetarget",
    "contracts_responsibilityassignment",
]

TRIGGERS = (
    FIXED_FUNCTIONS
    + "".join(
        f"CREATE TRIGGER {table}_fixed BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION contracts_version_fixed();\n"
        for table in VERSION_TABLES
    )
    + "".join(
        f"CREATE TRIGGER {table}_fixed BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION contracts_terms_fixed();\n"
        for table in TERM_TABLES
    )
)

NO_TRIGGERS = "".join(
    f"DROP TRIGGER IF EXISTS {table}_fixed ON {table};\n" for table in VERSION_TABLES + TERM_TABLES
) + (
    "DROP FUNCTION IF EXISTS contracts_version_fixed();\n"
    "DROP FUNCTION IF EXISTS contracts_terms_fixed();\n"
)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0005_organisation_country_and_logo"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="slapolicyversion",
            name="one_sla_version_per_day",
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="changes_results",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="effective_from",
            field=models.DateField(null=True),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="is_correction",
            field=models.BooleanField(
                default=False,
                help_text="Corrects an error in agreed terms: it changes verdicts already given",
            ),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="superseded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="responsibilitymatrixversion",
            name="withdrawn_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="changes_results",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="client_approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="client_approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="is_correction",
            field=models.BooleanField(
                default=False,
                help_text="Corrects an error in agreed terms: it changes verdicts already given",
            ),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="msp_approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="msp_approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="superseded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="slapolicyversion",
            name="withdrawn_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(agreed_as_before, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="responsibilitymatrixversion",
            name="effective_from",
            field=models.DateField(),
        ),
        migrations.AddConstraint(
            model_name="slapolicyversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("client_approved_at__isnull", False),
                    ("msp_approved_at__isnull", False),
                    ("superseded_at__isnull", True),
                    ("withdrawn_at__isnull", True),
                ),
                fields=("contract", "effective_from"),
                name="one_sla_version_in_force_per_day",
            ),
        ),
        migrations.RunSQL(TRIGGERS, NO_TRIGGERS),
    ]
