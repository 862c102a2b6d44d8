"""Settings of the load benchmark (bench/load.py): the production settings, plus the bare views.

Everything comes from config.settings and the environment load.py sets (DEBUG=0, SECURE_SSL=1,
BEHIND_PROXY=1, CONN_MAX_AGE=60, ...); only the URL configuration differs: config.urls plus
``/bare/...`` views (bench/load_urls.py), served without middleware by bench/load_wsgi.py.
Never used outside the benchmark.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
