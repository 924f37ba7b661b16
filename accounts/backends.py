"""The authentication backends: Django's and allauth's, each loading the session's user with
their memberships in one query (msp_portal.tenancy.user_with_memberships).

Every page reads the user and then their memberships; two queries and an ORM compile each time
were a fifth of a cached page's cost (benchmarks/RESULTS.md, bench-web). Only `get_user`, which
runs once per request for a session's user, differs; logging in is the parent's.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from msp_portal.tenancy import user_with_memberships


class _LoadsMemberships:
    def get_user(self, user_id):
        user = user_with_memberships(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_LoadsMemberships, DjangoModelBackend):
    pass


class AuthenticationBackend(_LoadsMemberships, AllauthBackend):
    pass
