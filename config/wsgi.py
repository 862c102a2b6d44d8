import os

from django.core.wsgi import get_wsgi_application

from config.embedded_db import ensure_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ensure_started(runtime=True)  # as the application's role, not the owner
application = get_wsgi_application()
