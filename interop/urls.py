"""Web pages of the interoperability app; config.urls mounts them at the root."""

from django.urls import path

from interop import views

urlpatterns = [
    path("codebook/", views.codebook_page, name="codebook"),
    path("import/", views.import_page, name="import"),
    path("import/<int:job_id>/", views.import_job_page, name="import_job"),
    path("import/<int:job_id>/status.json", views.import_job_status, name="import_job_status"),
    path("import/<int:job_id>/import/", views.import_job_confirm, name="import_job_confirm"),
    path("import/<int:job_id>/errors.csv", views.import_job_errors_csv, name="import_job_errors"),
]
