"""allauth adapters: the portal is invite-only, so nobody signs themselves up."""

from allauth.account.adapter import DefaultAccountAdapter


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by an organisation's admin (or apply_contract / seed_demo)."""

    def is_open_for_signup(self, request) -> bool:
        return False
