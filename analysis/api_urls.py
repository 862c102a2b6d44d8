"""Routes of the stats API; config.api_urls mounts them under /api/."""

from django.urls import path

from analysis.api import StatsApi, StatsRefreshApi

urlpatterns = [
    path("stats/", StatsApi.as_view(), name="stats"),
    path("stats/refresh/", StatsRefreshApi.as_view(), name="stats-refresh"),
]
