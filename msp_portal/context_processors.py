"""Template context every page needs: the user's organisations and the one they work in now."""

from .tenancy import nav_clients, user_memberships

SESSION_KEY = "current_organisation"


def tenancy(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    organisations = [m.organisation for m in user_memberships(user)]
    current_id = request.session.get(SESSION_KEY)
    current = next((o for o in organisations if o.pk == current_id), None)
    if current is None and organisations:
        current = organisations[0]
    return {
        "my_organisations": organisations,
        "current_organisation": current,
        "nav_clients": nav_clients(user),
    }
