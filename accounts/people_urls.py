"""The People pages of an organisation, and the link an invitation email carries."""

from django.urls import path

from . import people_views as views

urlpatterns = [
    path("organisations/<slug:slug>/people/", views.people, name="people"),
    path("organisations/<slug:slug>/people/invite/", views.people_invite, name="people_invite"),
    path(
        "organisations/<slug:slug>/people/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "organisations/<slug:slug>/people/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "organisations/<slug:slug>/people/members/<int:pk>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "organisations/<slug:slug>/people/members/<int:pk>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
