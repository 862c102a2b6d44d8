"""Dashboard pages of the analysis app, mounted at /dashboard/."""

from django.urls import path

from analysis import report_views, views

app_name = "analysis"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("panel", views.dashboard_panel, name="dashboard_panel"),
    path("status", views.dashboard_status, name="dashboard_status"),
    path("report", report_views.dashboard_report, name="dashboard_report"),
    path("stats.json", views.dashboard_document_json, name="dashboard_json"),
    path("tables/<slug:name>.csv", views.dashboard_table_csv, name="dashboard_table_csv"),
]
