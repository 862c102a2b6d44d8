"""A patient's timeline and audit trail, the follow-up worklist."""

from django.urls import path

from quality import query_views, retract_views, views, worklist_csv

urlpatterns = [
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("history/<slug:kind>/<int:pk>/", views.record_history, name="record_history"),
    path("retract/<slug:kind>/<int:pk>/", retract_views.record_retract, name="record_retract"),
    path("patients/retracted/", retract_views.retracted_patients, name="retracted_patients"),
    path("worklist/", views.worklist, name="worklist"),
    path("worklist.csv", worklist_csv.worklist_csv, name="worklist_csv"),
    path("queries/", query_views.query_list, name="query_list"),
    path("queries/export.csv", query_views.query_csv, name="query_csv"),
    path("queries/close/", query_views.query_bulk_close, name="query_bulk_close"),
    path("queries/<int:pk>/", query_views.query_detail, name="query_detail"),
    path("patients/<int:patient_pk>/queries/new/", query_views.query_create, name="query_create"),
]
