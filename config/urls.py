from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.views import favicon, healthz

# The admin's pages are titled like the others ("Users · …" rather than "… | Django site admin").
admin.site.site_header = "Sacral metastasis registry: administration"
admin.site.site_title = "Sacral metastasis registry admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    # One login page for everyone: the registry's says why a session ended, counts failed logins
    # and leads admins on to their second factor.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("dashboard/", include("analysis.urls")),
    path("", include("registry.urls")),
    path("", include("outcomes.urls")),
    path("", include("quality.urls")),
    path("", include("interop.urls")),
]
