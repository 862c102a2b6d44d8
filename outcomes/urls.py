"""The encounter, secondary procedure and complication forms."""

from django.urls import path, register_converter

from outcomes import views


class EventKindConverter:
    regex = "secondary-procedure|complication"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(EventKindConverter, "eventkind")

urlpatterns = [
    path("procedures/<int:procedure_pk>/encounters/new/", views.encounter_create, name="encounter_create"),
    path("encounters/<int:pk>/edit/", views.encounter_edit, name="encounter_edit"),
    path("procedures/<int:procedure_pk>/<eventkind:kind>/new/", views.event_create, name="event_create"),
    path("<eventkind:kind>s/<int:pk>/edit/", views.event_edit, name="event_edit"),
    path(
        "procedures/<int:procedure_pk>/visits-not-done/new/", views.visit_not_done_create, name="visit_not_done_create"
    ),
    path("visits-not-done/<int:pk>/edit/", views.visit_not_done_edit, name="visit_not_done_edit"),
]
