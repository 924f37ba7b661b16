"""The person's own settings: an API token, issued only inside a (multi-factor) web session."""

from allauth.core import ratelimit
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Show whether a token exists; POST issues a new one (replacing the old) and shows it once."""
    new_key, throttled = None, False
    if request.method == "POST":
        # Per person (ACCOUNT_RATE_LIMITS["api_token"]): a hijacked session cannot mint tokens in
        # a loop, and the old token stays valid when the limit refuses a new one.
        throttled = not ratelimit.consume(request, action="api_token", user=request.user)
        if not throttled:
            Token.objects.filter(user=request.user).delete()
            new_key = Token.objects.create(user=request.user).key
    has_token = Token.objects.filter(user=request.user).exists()
    context = {"new_key": new_key, "has_token": has_token, "throttled": throttled}
    return render(request, "accounts/api_token.html", context, status=429 if throttled else 200)
