"""The setup pages: a new client and its contract, then each part of the contract's rules.

Each view: resolve access through msp_portal.tenancy, parse a form, hand its section to
contracts.services.contract_setup (which applies a contract file), render. Only the MSP's admins
and the advisory firm's consultants reach them (Action.SET_UP_CONTRACT); a client's people read
the same rules on the contract page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from contracts import selectors
from contracts.contract_export import contract_document, contract_file_export, contract_file_yaml
from contracts.contract_file import ContractFileError
from contracts.models import Organisation
from contracts.services.commitments import contract_today
from contracts.services.contract_setup import client_contract_create, contract_setup_save
from msp_portal.tenancy import (
    Action,
    get_client_contract_or_404,
    onboarding_parties,
    user_memberships,
)

from .setup_forms import ContractForm, EffectiveForm, SlaForm, new_contract_initial
from .setup_formsets import (
    CalendarForm,
    calendar_formset,
    commitment_formset,
    commitment_initial,
    matrix_formset,
    matrix_initial,
)
from .setup_upload import ContractUploadForm

# Where a problem found in the whole file belongs on a page: key path prefix → form field.
CONTRACT_PATHS = {
    "client.name": "client_name",
    "contract.starts": "starts",
    "contract.ends": "ends",
    "contract.timezone": "timezone",
    "contract.pricing": "unit_price",
    "contract.service_credits": "credit_measure",
}
SLA_PATHS = {"sla.effective_from": "effective_from"}


def say_problems(form, problems: list[str], paths: dict[str, str]) -> None:
    """Each problem of the rebuilt file on its field when it has one, else on the form; in
    words (the key path is for files, not for pages)."""
    for problem in problems:
        path, _, message = problem.partition(": ")
        field = next((f for p, f in paths.items() if path.startswith(p)), None)
        words = message.replace("effective_from", "date").replace("_", " ")
        form.add_error(field if field in form.fields else None, words[:1].upper() + words[1:])


def _setup(request, slug, pk):
    client, contract, access = get_client_contract_or_404(request.user, slug, pk)
    access.require(Action.SET_UP_CONTRACT)
    return client, contract


def _saved(request, result, client, contract):
    if result.changes:
        messages.success(request, "Saved: " + "; ".join(result.changes) + ".")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("contract_setup", slug=client.slug, pk=contract.pk)


class PartiesForm(forms.Form):
    """Whose contract it is: the MSP, and the advisory firm when the user works for one."""

    def __init__(self, *args, user, msps, advisors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["msp"] = forms.TypedChoiceField(
            label="Managed service provider",
            choices=[(o.pk, o.name) for o in msps],
            coerce=int,
        )
        if advisors:
            self.fields["advisor"] = forms.TypedChoiceField(
                label="Advisory firm",
                choices=[("", "None"), *((o.pk, o.name) for o in advisors)],
                coerce=int,
                required=False,
            )
        self.parties = {o.pk: o for o in [*msps, *advisors]}
        self.own_orgs = {m.organisation_id for m in user_memberships(user)}

    def clean(self):
        data = super().clean()
        # Someone not of the MSP sees the contract only through their advisory firm.
        if data.get("msp") and data["msp"] not in self.own_orgs and not data.get("advisor"):
            self.add_error("advisor", "Choose your advisory firm: it advises this contract.")
        return data

    def chosen(self) -> tuple[Organisation, Organisation | None]:
        advisor = self.cleaned_data.get("advisor")
        return self.parties[self.cleaned_data["msp"]], self.parties.get(advisor or 0)


@login_required
def setup_client_new(request):
    """A new client with its contract, calendars and SLA, in one page and one file."""
    msps, advisors = onboarding_parties(request.user)
    if not msps:
        raise PermissionDenied("Only MSP admins and advisory firms' admins set up new clients.")
    contract_initial, calendars_initial, sla_initial = new_contract_initial(timezone.localdate())
    data = request.POST if request.method == "POST" else None
    parties = PartiesForm(data, user=request.user, msps=msps, advisors=advisors, prefix="parties")
    form = ContractForm(data, initial=contract_initial, prefix="contract")
    calendars = calendar_formset(data=data, initial=calendars_initial)
    sla = SlaForm(
        data, initial=sla_initial, calendars=calendars.keys(), with_effective=False, prefix="sla"
    )
    if data is not None and all(f.is_valid() for f in (parties, form, calendars, sla)):
        terms = form.section()
        msp, advisor = parties.chosen()
        try:
            result = client_contract_create(
                msp=msp,
                advisor=advisor,
                sections={
                    **terms,
                    "calendars": calendars.section(terms["contract"]["timezone"]),
                    "sla": sla.section(),
                },
                actor=request.user,
            )
        except ContractFileError as exc:
            say_problems(form, exc.problems, CONTRACT_PATHS)
        else:
            contract = result.contract
            messages.success(request, f"{contract.client.name} and its contract are set up.")
            return redirect("contract_setup", slug=contract.client.slug, pk=contract.pk)
    return render(
        request,
        "contracts/setup_new.html",
        {"parties": parties, "form": form, "calendars": calendars, "sla": sla},
    )


@login_required
def setup_guide(request, slug, pk):
    """'Set up <client>': each step with done or not yet, and where to do it."""
    client, contract = _setup(request, slug, pk)
    return render(
        request,
        "contracts/setup_guide.html",
        {
            "client": client,
            "contract": contract,
            "steps": selectors.setup_steps(contract=contract),
            "import_url": reverse("import_upload")
            + f"?target=client:{client.pk}:{contract.msp_id}",
        },
    )


@login_required
def setup_contract(request, slug, pk):
    client, contract = _setup(request, slug, pk)
    data = request.POST if request.method == "POST" else None
    initial = ContractForm.initial_from(contract_document(contract=contract))
    form = ContractForm(data, initial=initial, editing=True, prefix="contract")
    if data is not None and form.is_valid():
        try:
            result = contract_setup_save(
                contract=contract, sections=form.section(), actor=request.user
            )
        except ContractFileError as exc:
            say_problems(form, exc.problems, CONTRACT_PATHS)
        else:
            return _saved(request, result, client, contract)
    return _page(request, "setup_contract", client, contract, form=form)


@login_required
def setup_calendars(request, slug, pk):
    client, contract = _setup(request, slug, pk)
    document = contract_document(contract=contract)
    data = request.POST if request.method == "POST" else None
    effective = EffectiveForm(data, initial=_next_effective(document, contract), prefix="when")
    calendars = calendar_formset(
        data=data,
        initial=[CalendarForm.initial_from(k, b) for k, b in document["calendars"].items()],
    )
    if data is not None and effective.is_valid() and calendars.is_valid():
        blocks = calendars.section(contract.timezone)
        used = {t["calendar"] for t in document["sla"]["targets"].values()}
        if missing := sorted(used - set(blocks)):
            calendars.non_form_errors().append(
                f"The SLA targets run on {', '.join(missing)}: move them to another calendar "
                "on the SLA page before removing it."
            )
        else:
            sla = {**document["sla"], "effective_from": effective.cleaned_data["effective_from"]}
            return _apply(request, client, contract, effective, {"calendars": blocks, "sla": sla})
    return _page(request, "setup_calendars", client, contract, form=effective, calendars=calendars)


@login_required
def setup_sla(request, slug, pk):
    client, contract = _setup(request, slug, pk)
    document = contract_document(contract=contract)
    data = request.POST if request.method == "POST" else None
    initial = SlaForm.initial_from(document["sla"])
    form = SlaForm(data, initial=initial, calendars=list(document["calendars"]), prefix="sla")
    if data is not None and form.is_valid():
        return _apply(request, client, contract, form, {"sla": form.section()})
    return _page(request, "setup_sla", client, contract, form=form)


def _next_effective(document: dict, contract) -> dict:
    """The latest version's date: saving unchanged calendars is then no change at all."""
    latest = document["sla"]["effective_from"] if document["sla"] else contract.starts
    return {"effective_from": latest}


def _apply(request, client, contract, form, sections):
    """Save sections of the SLA version; a problem goes back to the page, on its field."""
    try:
        result = contract_setup_save(
            contract=contract, sections=sections, actor=request.user, **form.agreement()
        )
    except ContractFileError as exc:
        say_problems(form, exc.problems, SLA_PATHS)
        view = "setup_sla" if isinstance(form, SlaForm) else "setup_calendars"
        extra = {} if view == "setup_sla" else {"calendars": _posted_calendars(request)}
        return _page(request, view, client, contract, form=form, **extra)
    return _saved(request, result, client, contract)


def _posted_calendars(request):
    calendars = calendar_formset(data=request.POST)
    calendars.is_valid()
    return calendars


@login_required
def setup_matrix(request, slug, pk):
    client, contract = _setup(request, slug, pk)
    document = contract_document(contract=contract)
    data = request.POST if request.method == "POST" else None
    rows = matrix_formset(data=data, initial=matrix_initial(document["responsibilities"]))
    if data is not None and rows.is_valid():
        try:
            result = contract_setup_save(
                contract=contract, sections={"responsibilities": rows.section()}, actor=request.user
            )
        except ContractFileError as exc:
            rows.non_form_errors().extend(p.partition(": ")[2] for p in exc.problems)
        else:
            # Saved as it is, but said: a shared area without its split is a gap to close.
            for flag in rows.flags():
                messages.warning(request, flag)
            return _saved(request, result, client, contract)
    mapping = [
        (category, row["area"])
        for row in document["responsibilities"]
        for category in row.get("categories") or []
    ]
    return _page(request, "setup_matrix", client, contract, rows=rows, mapping=sorted(mapping))


@login_required
def setup_commitments(request, slug, pk):
    client, contract = _setup(request, slug, pk)
    document = contract_document(contract=contract)
    data = request.POST if request.method == "POST" else None
    initial = [commitment_initial(c) for c in document["commitments"]]
    rows = commitment_formset(data=data, initial=initial)
    rows.has_credit_terms = bool(contract.credit_measure)
    if data is not None and rows.is_valid():
        try:
            result = contract_setup_save(
                contract=contract, sections={"commitments": rows.section()}, actor=request.user
            )
        except ContractFileError as exc:
            rows.non_form_errors().extend(p.partition(": ")[2] for p in exc.problems)
        else:
            return _saved(request, result, client, contract)
    return _page(request, "setup_commitments", client, contract, rows=rows)


@login_required
def contract_file_upload(request, slug, pk):
    """Apply an uploaded contract file of this contract; its problems name their key path."""
    client, contract = _setup(request, slug, pk)
    form = ContractUploadForm(request.POST or None, request.FILES or None, contract=contract)
    if request.method == "POST" and form.is_valid():
        try:
            result = form.apply(actor=request.user)
        except ContractFileError as exc:
            for problem in exc.problems:
                form.add_error("file", problem)
        else:
            return _saved(request, result, client, contract)
    return _page(request, "setup_upload", client, contract, form=form)


@login_required
def contract_file_download(request, slug, pk):
    """The contract as its file, to keep, compare or apply elsewhere: anyone party to it."""
    client, contract, _access = get_client_contract_or_404(request.user, slug, pk)
    text = contract_file_yaml(contract_file_export(contract=contract))
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{client.slug}-contract.yaml"'
    return response


def _page(request, view: str, client, contract, **context):
    return render(
        request,
        f"contracts/{view}.html",
        {
            "client": client,
            "contract": contract,
            "today": contract_today(contract),
            **context,
        },
    )
