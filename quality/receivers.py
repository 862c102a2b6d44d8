"""How the quality app learns of clinical changes: the writing apps send ``clinical_data_committed``
after each committed change (they never import this app), and a run of the rules is scheduled."""

from core.writes import clinical_data_committed
from quality.runs import rules_check_schedule


def _check_after_commit(sender, **kwargs) -> None:
    rules_check_schedule()


def connect() -> None:
    clinical_data_committed.connect(_check_after_commit, dispatch_uid="quality.check_after_commit")
