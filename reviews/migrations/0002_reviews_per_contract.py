"""Reviews, their action items and the PDF's look belong to a contract, not only a client: a
client with two MSPs has each one's reviews apart.

Existing rows satisfy the new constraints (one review per client and quarter is one per
contract too). Action items take the contract of the review of the quarter they were raised
in (else the client's newest contract); existing PDF layouts stay as the client's default."""

import django.db.models.deletion
from django.db import migrations, models


def items_to_their_contract(apps, schema_editor):
    ActionItem = apps.get_model("reviews", "ActionItem")
    Review = apps.get_model("reviews", "Review")
    Contract = apps.get_model("contracts", "Contract")
    for item in ActionItem.objects.filter(contract__isnull=True):
        review = (
            Review.objects.filter(client_id=item.client_id, quarter=item.raised_in)
            .order_by("-version")
            .first()
        )
        contract_id = review.contract_id if review else None
        if contract_id is None:
            newest = Contract.objects.filter(client_id=item.client_id).order_by("-starts", "-id")
            contract_id = newest.values_list("id", flat=True).first()
        if contract_id is not None:
            ActionItem.objects.filter(pk=item.pk).update(contract_id=contract_id)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0002_matrix_area_categories"),
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="review", name="review_version_per_quarter"),
        migrations.RemoveConstraint(model_name="review", name="one_draft_per_quarter"),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                fields=("contract", "quarter", "version"), name="review_version_per_quarter"
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "draft")),
                fields=("contract", "quarter"),
                name="one_draft_per_quarter",
            ),
        ),
        migrations.AddField(
            model_name="actionitem",
            name="contract",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.AlterField(
            model_name="reviewbranding",
            name="client",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contracts.organisation",
            ),
        ),
        migrations.AddField(
            model_name="reviewbranding",
            name="contract",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contracts.contract",
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewbranding",
            constraint=models.UniqueConstraint(
                condition=models.Q(("contract__isnull", True)),
                fields=("client",),
                name="one_default_branding_per_client",
            ),
        ),
        migrations.RunPython(items_to_their_contract, migrations.RunPython.noop),
    ]
