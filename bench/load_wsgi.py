"""WSGI entry point of the load benchmark: the project as deployed, and its bare views beside it.

Requests under ``/bare/`` go to a Django handler with no middleware at all (URL resolution, the
view, the response: the floor of a Django view running the same queries); every other request
goes to the production handler with the full middleware stack of config.settings.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.load_settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402

from config.embedded_db import ensure_started  # noqa: E402

ensure_started()
django.setup(set_prefix=False)


class BareHandler(WSGIHandler):
    """A WSGIHandler whose middleware chain is empty (the view is called directly)."""

    def load_middleware(self, is_async=False):
        production = settings.MIDDLEWARE
        settings.MIDDLEWARE = []
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = production


project = WSGIHandler()
bare = BareHandler()


def application(environ, start_response):
    handler = bare if environ.get("PATH_INFO", "").startswith("/bare/") else project
    return handler(environ, start_response)
