"""A procedure's screws as they were at one of its versions, read from the audit events: the base of
the per-field merge when someone else saved the procedure while this user was editing it
(``core.merge``; the procedure's own fields come from its event of that version)."""

from core.merge import UNKNOWN, event_model
from registry.models import Procedure, Screw
from registry.services import SCREW_FIELDS


def screws_at_version(procedure_id: int, version: int) -> list[dict] | object:
    """The screws (dicts of SCREW_FIELDS, by id) the procedure had at ``version``; ``UNKNOWN`` when
    the events do not hold that version.

    Screws change only with a new version of their procedure (the services replace them in the
    procedure's update, in its audit context), so they are the screw events replayed up to the
    first one written by a later version; event ids, unlike times, follow the order of the writes.
    """
    procedure_events = event_model(Procedure).objects.filter(pgh_obj_id=procedure_id)
    if not procedure_events.filter(version=version).exclude(pgh_label="delete").exists():
        return UNKNOWN
    later = set(procedure_events.filter(version__gt=version).values_list("pgh_context_id", flat=True)) - {None}
    alive = {}
    for event in event_model(Screw).objects.filter(procedure_id=procedure_id).order_by("pgh_id"):
        if event.pgh_context_id in later:
            break
        if event.pgh_label == "delete":
            alive.pop(event.pgh_obj_id, None)
        else:
            alive[event.pgh_obj_id] = event
    return [{name: getattr(event, name) for name in SCREW_FIELDS} for _, event in sorted(alive.items())]
