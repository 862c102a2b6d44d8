"""Routes of the interoperability API; config.api_urls mounts them under /api/."""

urlpatterns: list = []
