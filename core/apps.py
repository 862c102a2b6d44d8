from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The framework's floor: no models of its own, its management commands (database roles,
    backup and restore) work on whatever the apps above define."""

    name = "core"
    verbose_name = "Framework"
