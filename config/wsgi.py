import os

from django.core.wsgi import get_wsgi_application

from config.embedded_db import ensure_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ensure_started()
application = get_wsgi_application()
