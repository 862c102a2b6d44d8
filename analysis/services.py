def stats_refresh_schedule() -> None:
    """Asks for a refresh of the cohort statistics (the analysis engine fills this in)."""
