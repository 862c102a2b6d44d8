"""How the analysis app learns of clinical changes: the writing apps send ``clinical_data_committed``
after each committed change (they never import this app), and a refresh is scheduled."""

from analysis.services import stats_refresh_schedule
from core.writes import clinical_data_committed


def _refresh_after_commit(sender, **kwargs) -> None:
    stats_refresh_schedule()


def connect() -> None:
    clinical_data_committed.connect(_refresh_after_commit, dispatch_uid="analysis.refresh_after_commit")
