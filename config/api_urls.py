"""The REST API (DATA_DICTIONARY.md): routes of every resource, auth token, schema and docs."""

urlpatterns: list = []
