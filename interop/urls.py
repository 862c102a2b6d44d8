"""Web pages of the interoperability app; config.urls mounts them at the root."""

from django.urls import path

from interop import views

urlpatterns = [
    path("codebook/", views.codebook_page, name="codebook"),
]
