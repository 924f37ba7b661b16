"""The contract's audit trail as a page and as a CSV file, filtered by kind and dates."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from contracts import selectors
from contracts.audit_display import event_view
from contracts.models import AuditEvent
from msp_portal.csv_export import csv_writer
from msp_portal.tenancy import get_client_contract_or_404

PAGE_SIZE = 50
CSV_HEADER = ["When (UTC)", "Who", "Through", "Kind", "What", "Field", "Before", "After"]


class HistoryFilter(forms.Form):
    """Which events the trail shows: one kind, and a range of days (UTC)."""

    kind = forms.ChoiceField(
        label="Kind", required=False, choices=[("", "All kinds"), *AuditEvent.Kind.choices]
    )
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "To: give a day on or after From.")
        return data


def _filtered(request, contract):
    """The filter form and the events it selects (all of them while the form has errors)."""
    form = HistoryFilter(request.GET or None)
    chosen = form.cleaned_data if form.is_bound and form.is_valid() else {}
    events = selectors.audit_trail(
        contract=contract,
        kind=chosen.get("kind") or "",
        since=chosen.get("since"),
        until=chosen.get("until"),
    )
    return form, events


@login_required
@require_safe
def contract_history(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    form, events = _filtered(request, contract)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "contracts/history.html",
        {
            "client": client,
            "contract": contract,
            "access": access,
            "form": form,
            "page": page,
            "views": [event_view(e) for e in page.object_list],
            "query": query.urlencode(),
        },
    )


@login_required
@require_safe
def contract_history_csv(request, slug, pk):
    _client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    _form, events = _filtered(request, contract)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contract-{contract.pk}-history.csv"'
    writer = csv_writer(response)
    writer.writerow(CSV_HEADER)
    for event in events.iterator(chunk_size=2000):
        view = event_view(event)
        start = [
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            str(event.actor) if event.actor else "system",
            event.get_source_display(),
            event.get_kind_display(),
            view.what,
        ]
        # One row per changed field, so a spreadsheet filters and sorts them; an event without
        # field changes (a delete, a log-in) still has its row.
        lines = [[line.label, line.before, line.after] for line in view.csv_lines()]
        writer.writerows(start + line for line in lines or [["", "", ""]])
    return response
