"""
Prometheus metrics of the sample app, with prometheus-client alone (Debian 12's 0.16 and the version
requirements.txt pins).

- `django_http_requests_total{view,method,status}` and `django_http_request_duration_seconds{view,method}`
  (a histogram, for the p95 alert) for every request the app answers past the probes;
- `django_db_connection_errors_total`: OperationalError/InterfaceError from a view or the readiness
  check's database connection.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (djangostack sets
it on the web process, on an in-memory volume), each worker writes its samples to files there and a
scrape answered by any worker sums them all. The rendered gunicorn.conf.py empties the directory when
the server starts and marks each exited worker dead. The endpoint is served at DJANGO_METRICS_PATH
(unset or empty: none) by the middleware, before ALLOWED_HOSTS is checked: a scrape's Host is the pod's
address. The edge never forwards that path.
"""
import os
import time

_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
if _DIR:
    # prometheus-client opens its files there from the first sample on; a server without gunicorn's
    # on_starting hook (daphne, uvicorn) finds it created here.
    os.makedirs(_DIR, exist_ok=True)

from django.conf import settings  # noqa: E402
from django.db.utils import InterfaceError, OperationalError  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client import multiprocess  # noqa: E402

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# 2 s is a bucket bound: the p95-over-2-s alert reads it exactly.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("django_http_requests", "Requests the app answered, by view, method and status.", ["view", "method", "status"])
LATENCY = Histogram("django_http_request_duration_seconds", "Time from the request reaching Django to its response, by view and method.", ["view", "method"], buckets=BUCKETS)
DB_ERRORS = Counter("django_db_connection_errors", "Database connection errors (OperationalError, InterfaceError) in views and readiness checks.")

DB_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def record_db_error():
    DB_ERRORS.inc()


def exposition():
    """The text format of every worker's samples (multiprocess mode) or this process's."""
    if _DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_DIR)
    else:
        registry = REGISTRY
    return generate_latest(registry)


def _view_name(request):
    match = getattr(request, "resolver_match", None)
    # Unresolved paths (404s of random URLs) share one label: a scanner must not create a series per path.
    return match.view_name if match is not None and match.view_name else "<unresolved>"


class MetricsMiddleware:
    """Serves the metrics path and times every other request (the probes are answered before it)."""

    def __init__(self, get_response):
        self.get_response = get_response
        path = getattr(settings, "METRICS_PATH", "")
        self.paths = {path, path.rstrip("/") + "/"} if path else set()

    def __call__(self, request):
        if request.path_info in self.paths:
            if request.method not in ("GET", "HEAD"):
                response = HttpResponse(status=405)
                response["Allow"] = "GET, HEAD"
                return response
            response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
            response["Cache-Control"] = "no-store"
            return response
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "other"
        view = _view_name(request)
        LATENCY.labels(view, method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DB_CONNECTION_ERRORS):
            record_db_error()
        return None
