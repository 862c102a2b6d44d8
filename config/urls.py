from django.contrib import admin
from django.urls import include, path

from config.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("dashboard/", include("analysis.urls")),
    path("", include("registry.urls")),
    path("", include("outcomes.urls")),
    path("", include("quality.urls")),
    path("", include("interop.urls")),
]
