"""The stats API mounted as config.api_urls will mount it, for tests that must not depend on that file."""

from django.urls import include, path

urlpatterns = [path("api/", include("analysis.api_urls"))]
