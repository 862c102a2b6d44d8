"""A patient's timeline and audit trail, the follow-up worklist."""

from django.urls import path

from quality import query_views, views

urlpatterns = [
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("history/<slug:kind>/<int:pk>/", views.record_history, name="record_history"),
    path("worklist/", views.worklist, name="worklist"),
    path("queries/", query_views.query_list, name="query_list"),
    path("queries/export.csv", query_views.query_csv, name="query_csv"),
    path("queries/close/", query_views.query_bulk_close, name="query_bulk_close"),
    path("queries/<int:pk>/", query_views.query_detail, name="query_detail"),
    path("patients/<int:patient_pk>/queries/new/", query_views.query_create, name="query_create"),
]
