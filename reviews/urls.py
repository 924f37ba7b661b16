from django.urls import path

from . import views

R = "clients/<slug:slug>/reviews/<int:pk>/"

urlpatterns = [
    path("clients/<slug:slug>/reviews/", views.review_list, name="review_list"),
    path("clients/<slug:slug>/reviews/start/", views.review_start, name="review_start"),
    path(R, views.review_detail, name="review_detail"),
    path(R + "edit/", views.review_edit, name="review_edit"),
    path(R + "items/", views.review_item_add, name="review_item_add"),
    path(R + "items/<int:item>/status/", views.review_item_status, name="review_item_status"),
    path(R + "items/<int:item>/", views.review_item_edit, name="review_item_edit"),
    path(R + "comments/", views.review_comment, name="review_comment"),
    path(R + "publish/", views.review_publish, name="review_publish"),
    path(R + "correct/", views.review_correct, name="review_correct"),
    path(R + "share/", views.review_share, name="review_share"),
    path(R + "share/<int:link>/revoke/", views.review_share_revoke, name="review_share_revoke"),
    path(R + "pdf/", views.review_pdf, name="review_pdf"),
    path(R + "pdf/status/", views.review_pdf_status, name="review_pdf_status"),
    path("shared/reviews/<str:token>/", views.review_shared, name="review_shared"),
    path("shared/reviews/<str:token>/pdf/", views.review_shared_pdf, name="review_shared_pdf"),
]
