"""The trail's kind (its filter) and changed model (its field names in words), backfilled; SLA
versions logged as one blob without a "before" are split into their parts, each beside the
version logged before it; matrix versions logged as lists become a mapping by area."""


from django.conf import settings
from django.db import migrations, models

MODEL_BY_TYPE = {
    "organisation": "contracts.organisation",
    "membership": "contracts.membership",
    "contract": "contracts.contract",
    "commitment": "contracts.commitment",
    "commitment occurrence": "contracts.commitmentoccurrence",
    "evidence": "contracts.evidence",
    "responsibility matrix version": "contracts.responsibilitymatrixversion",
    "responsibility assignment": "contracts.responsibilityassignment",
    "SLA policy version": "contracts.slapolicyversion",
    "calendar": "contracts.calendar",
    "sla target": "contracts.slatarget",
    "uptime target": "contracts.uptimetarget",
    "import job": "kpis.importjob",
    "outage": "kpis.outage",
    "user": "accounts.user",
    "review branding": "reviews.reviewbranding",
    "review": "reviews.review",
    "action item": "reviews.actionitem",
    "review comment": "reviews.reviewcomment",
    "share link": "reviews.sharelink",
}
# As contracts/services/audit.py had it when this was written.
KIND_BY_MODEL = {
    "contracts.organisation": "terms",
    "contracts.contract": "terms",
    "contracts.membership": "people",
    "contracts.slapolicyversion": "sla",
    "contracts.calendar": "sla",
    "contracts.slatarget": "sla",
    "contracts.uptimetarget": "sla",
    "contracts.responsibilitymatrixversion": "matrix",
    "contracts.responsibilityassignment": "matrix",
    "contracts.commitment": "commitments",
    "contracts.commitmentoccurrence": "commitments",
    "contracts.evidence": "commitments",
    "kpis.importjob": "imports",
    "kpis.outage": "outages",
    "accounts.user": "people",
}


def _sla_parts(blob: dict, effective_from) -> dict:
    return {
        "effective_from": effective_from,
        "targets": blob.get("targets") or {},
        "pause_states": blob.get("pause_states") or [],
        "repeat_window_days": blob.get("repeat_window_days"),
        "uptime": {u["service"]: str(u["target"]) for u in blob.get("uptime") or []},
    }


def backfill(apps, schema_editor):
    AuditEvent = apps.get_model("contracts", "AuditEvent")
    SlaPolicyVersion = apps.get_model("contracts", "SlaPolicyVersion")
    for object_type, label in MODEL_BY_TYPE.items():
        kind = KIND_BY_MODEL.get(label) or ("reviews" if label.startswith("reviews.") else "other")
        AuditEvent.objects.filter(object_type=object_type).update(object_model=label, kind=kind)
    AuditEvent.objects.filter(action__startswith="approve").update(kind="approvals")

    effective = {
        str(pk): day.isoformat()
        for pk, day in SlaPolicyVersion.objects.values_list("pk", "effective_from")
    }
    previous: dict[int, dict] = {}
    versions = AuditEvent.objects.filter(
        object_model="contracts.slapolicyversion", action="create"
    ).order_by("at", "id")
    for event in versions:
        blob = (event.changes or {}).get("sla")
        if not (isinstance(blob, list) and len(blob) == 2 and isinstance(blob[1], dict)):
            continue
        after = _sla_parts(blob[1], effective.get(event.object_id))
        before = previous.get(event.contract_id, {})
        event.changes = {key: [before.get(key), value] for key, value in after.items()}
        previous[event.contract_id] = after
        event.save(update_fields=["changes"])

    matrices = AuditEvent.objects.filter(object_model="contracts.responsibilitymatrixversion")
    for event in matrices.filter(changes__has_key="assignments"):
        pair = event.changes["assignments"]
        if not isinstance(pair, list) or len(pair) != 2:
            continue
        event.changes["assignments"] = [
            {row[0]: {"owner": row[1], "split": row[2], "categories": row[3] if len(row) > 3 else []}
             for row in side}
            if isinstance(side, list)
            else side
            for side in pair
        ]
        event.save(update_fields=["changes"])


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0006_versions_by_agreement'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='kind',
            field=models.CharField(choices=[('terms', 'Contract terms'), ('sla', 'SLA'), ('matrix', 'Responsibility matrix'), ('commitments', 'Commitments'), ('imports', 'Imports'), ('approvals', 'Approvals'), ('people', 'People'), ('reviews', 'Reviews'), ('outages', 'Outages'), ('other', 'Other')], default='other', max_length=12),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='object_model',
            field=models.CharField(blank=True, default='', max_length=100),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['contract', 'kind', '-at'], name='contracts_a_contrac_ae8d73_idx'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
