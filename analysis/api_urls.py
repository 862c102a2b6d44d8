"""Routes of the stats API; included under /api/ by config.api_urls."""

from django.urls import path

from analysis.api import StatsApi, StatsRefreshApi

urlpatterns = [
    path("stats/", StatsApi.as_view(), name="stats"),
    path("stats/refresh/", StatsRefreshApi.as_view(), name="stats-refresh"),
]
