from django.urls import path

from . import views

urlpatterns = [
    path("clients/<slug:slug>/scorecard/", views.assessment_page, name="scorecard"),
    path(
        "clients/<slug:slug>/scorecard/candidates/<int:pk>/",
        views.candidate_answers,
        name="scorecard_candidate",
    ),
    path(
        "clients/<slug:slug>/scorecard/answers/<int:pk>/evidence/",
        views.answer_evidence,
        name="scorecard_answer_evidence",
    ),
    path(
        "clients/<slug:slug>/scorecard/comparison/",
        views.comparison_page,
        name="scorecard_compare",
    ),
    path(
        "clients/<slug:slug>/scorecard/comparison.pdf",
        views.comparison_pdf,
        name="scorecard_pdf",
    ),
]
