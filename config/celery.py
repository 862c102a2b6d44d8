"""The one Celery application of the project; configured from Django settings (CELERY_*)."""

import os

from celery import Celery

from config.embedded_db import ensure_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _start_before_reading_the_settings(sender, **kwargs):
    """The worker and beat read the Django settings first here, when the app loads its configuration;
    they log in as the application's role, not the owner."""
    ensure_started(runtime=True)
