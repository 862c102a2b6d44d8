"""A patient's timeline and audit trail, the follow-up worklist."""

from django.urls import path

from quality import views

urlpatterns = [
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("history/<slug:kind>/<int:pk>/", views.record_history, name="record_history"),
    path("worklist/", views.worklist, name="worklist"),
]
