from django.urls import path

from . import views

urlpatterns = [path("api-token/", views.api_token, name="api_token")]
