"""The PHI access log: one append-only row each time a user reads or exports identified patient data.

Views and API endpoints call ``phi_access_record`` once per request (one INSERT); de-identified
reads are not PHI access and are not recorded.
"""

import ipaddress

from core.logins import client_ip
from registry.models import Patient, PhiAccess

WHAT_MAX_LENGTH = PhiAccess._meta.get_field("what").max_length


def phi_access_record(*, request, action: str, patient: Patient | None = None, what: str = "") -> PhiAccess:
    """Records that ``request.user`` read or exported PHI: ``patient`` for one patient's record,
    ``what`` (an export's name, a list's path and count) otherwise. ``what`` never carries a query
    string: filters may hold an MRN."""
    user = request.user
    return PhiAccess.objects.create(
        user_id=user.pk,
        username=user.get_username(),
        action=action,
        patient_id=patient.pk if patient is not None else None,
        study_id=patient.study_id if patient is not None else "",
        what=(what or request.path)[:WHAT_MAX_LENGTH],
        client_address=_address(client_ip(request)),
    )


def _address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
