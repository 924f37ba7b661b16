from django.urls import path

from . import views

urlpatterns = [
    path("clients/<slug:slug>/disputes/", views.dispute_list, name="dispute_list"),
    path("clients/<slug:slug>/disputes/<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path(
        "clients/<slug:slug>/disputes/<int:pk>/answer/",
        views.dispute_answer_view,
        name="dispute_answer",
    ),
    path(
        "clients/<slug:slug>/disputes/<int:pk>/withdraw/",
        views.dispute_withdraw_view,
        name="dispute_withdraw",
    ),
    path(
        "clients/<slug:slug>/tickets/<int:pk>/dispute/",
        views.dispute_ticket,
        name="dispute_ticket",
    ),
    path(
        "clients/<slug:slug>/contracts/<int:pk>/occurrences/<int:occurrence>/dispute/",
        views.dispute_occurrence,
        name="dispute_occurrence",
    ),
]
