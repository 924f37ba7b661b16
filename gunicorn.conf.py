"""gunicorn's settings wherever the portal is served: the Dockerfile, docker-compose and the
benchmarks (`gunicorn -c gunicorn.conf.py msp_portal.wsgi:application`).

Sync workers, one per core. The pages are CPU-bound: a dashboard costs about 10 ms of Python
and 2 ms of PostgreSQL, with no slow I/O to wait on. A sync worker takes a connection only when
it is free, so requests queue first come, first served across the workers. Threaded (gthread)
workers keep each keep-alive connection on the worker that accepted it, and one worker often
holds most of them. Measured on 2 cores with 20 users (benchmarks/RESULTS.md, 2026-12-02):
dashboard p95 161 ms with 2 sync workers, 270 ms with 2 × 4 gthread, and 205 ms with 4 sync
workers. Sync workers assume a proxy in front that buffers request bodies (nginx does by
default), which a deployment needs anyway for TLS: an upload then reaches a worker at once
instead of holding it for as long as the client takes to send it.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The cores this process may run on (a container or taskset limits them), not the host's.
workers = int(os.environ.get("WEB_CONCURRENCY", len(os.sched_getaffinity(0))))
worker_class = "sync"
# A CSV export of a year's tickets streams for a few seconds; nothing should take a minute.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Restart each worker after this many requests (with jitter), so a slow leak cannot grow.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


def post_worker_init(worker):
    """Import every view now, then freeze what the worker has loaded (gc.freeze): the garbage
    collector's full passes then skip Django's, the views' and their libraries' objects, about
    180,000 that live as long as the worker. Measured in one worker serving the dashboard and
    the ticket list: one such pass every few hundred requests took 111 ms, a page that waited
    behind it; frozen, the passes find only what requests leave (benchmarks/RESULTS.md). The
    first request also no longer waits for the views to load."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view module
    gc.collect()
    gc.freeze()
