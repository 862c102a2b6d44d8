from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = "Data quality: rules, data queries, the worklist"

    def ready(self):
        from quality.receivers import connect

        connect()
