from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Cohort analysis"

    def ready(self):
        from analysis.receivers import connect

        connect()
