"""The rows behind a phishing- or MFA-measured occurrence (the drill-downs): the campaigns sent
in the period with their totals, or the period's attestation with its statement, who attested
and when, its file, and the technicians (those without MFA first)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .hygiene_services import occurrence_mfa_measure, occurrence_phishing_measure
from .views import measured_occurrence


@login_required
def occurrence_phishing(request, slug, pk, occurrence):
    context = measured_occurrence(request, slug, pk, occurrence, "phishing")
    context["measure"] = occurrence_phishing_measure(context["occurrence"])
    return render(request, "evidence/occurrence_phishing.html", context)


@login_required
def occurrence_mfa(request, slug, pk, occurrence):
    context = measured_occurrence(request, slug, pk, occurrence, "mfa")
    context["measure"], context["report"] = occurrence_mfa_measure(context["occurrence"])
    return render(request, "evidence/occurrence_mfa.html", context)
