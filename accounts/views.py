"""The person's own settings: an API token, issued only inside a (multi-factor) web session."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """Show whether a token exists; POST issues a new one (replacing the old) and shows it once."""
    new_key = None
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        new_key = Token.objects.create(user=request.user).key
    has_token = Token.objects.filter(user=request.user).exists()
    return render(request, "accounts/api_token.html", {"new_key": new_key, "has_token": has_token})
