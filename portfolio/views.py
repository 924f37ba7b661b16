"""The home page: a client's people go to their client; MSP staff and advisors get the portfolio."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from contracts.models import Organisation
from msp_portal.tenancy import onboarding_parties, visible_clients, visible_contracts
from portfolio.selectors import portfolio, upcoming_reviews


@login_required
def home(request):
    """A client's people go straight to their client. MSP staff and advisors (and anyone seeing
    several clients) get the portfolio: every client side by side in its own default period,
    and the reviews coming up."""
    clients = list(visible_clients(request.user).order_by("name"))
    serves_clients = request.user.memberships.filter(
        organisation__kind__in=[Organisation.Kind.MSP, Organisation.Kind.ADVISOR]
    ).exists()
    if len(clients) == 1 and not serves_clients:
        return redirect("client_home", slug=clients[0].slug)
    lines = portfolio(clients, visible_contracts(request.user))
    return render(
        request,
        "contracts/portfolio.html",
        {
            "lines": lines,
            "upcoming": upcoming_reviews(lines),
            "can_set_up": bool(onboarding_parties(request.user)[0]),
        },
    )
