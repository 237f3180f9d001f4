"""
Readiness checks for /readyz/: database (SELECT 1), cache (set/get/delete) and broker (connect).

Each check runs in its own daemon thread with a deadline of settings.READYZ_TIMEOUT seconds, so
the endpoint answers within about that time even if a backend black-holes packets; a check still
running at the deadline is reported as a timeout and its thread finishes on its own socket timeout.
"""
import os
import re
import socket
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from . import metrics

_CREDENTIALS = re.compile(r"(\w+://)[^@/\s]*@")


def describe_error(exc):
    text = f"{type(exc).__name__}: {exc}".strip()
    text = _CREDENTIALS.sub(r"\1***@", text)  # never echo passwords from URLs
    return " ".join(text.split())[:300]


def check_database():
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.dummy":
        raise RuntimeError("DATABASE_URL is not set")
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except metrics.DB_CONNECTION_ERRORS:
        metrics.record_db_error()
        raise
    finally:
        # Runs in a short-lived thread: close its connection instead of leaking it.
        connections.close_all()
    return {}


def check_cache():
    backend = settings.CACHES["default"]["BACKEND"]
    if not settings.DEBUG and not backend.startswith("django_redis."):
        raise RuntimeError("REDIS_URL is not set")
    key = f"readyz:{socket.gethostname()}:{os.getpid()}"
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=30)
    value = cache.get(key)
    cache.delete(key)
    if value != token:
        raise RuntimeError("cache did not return the value just written")
    return {"backend": backend.rsplit(".", 1)[-1]}


def check_broker():
    from config.celery import app as celery_app

    url = os.environ.get("CELERY_BROKER_URL") or settings.CELERY_BROKER_URL
    if not url:
        return {"skipped": "CELERY_BROKER_URL is not set"}
    timeout = float(settings.READYZ_TIMEOUT)
    with celery_app.connection_for_write(url, connect_timeout=timeout, heartbeat=0) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2, timeout=timeout)
        return {"transport": str(conn.transport_cls)}


CHECKS = (("database", check_database), ("cache", check_cache), ("broker", check_broker))


def run_checks(timeout=None):
    """Return (all_ok, {name: {"ok": bool, "ms": float, ...}})."""
    timeout = float(settings.READYZ_TIMEOUT if timeout is None else timeout)
    results = {}
    lock = threading.Lock()

    def run(name, fn):
        started = time.monotonic()
        try:
            detail = {"ok": True, **(fn() or {})}
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            detail = {"ok": False, "error": describe_error(exc)}
        detail["ms"] = round((time.monotonic() - started) * 1000, 1)
        with lock:
            results[name] = detail

    threads = [threading.Thread(target=run, args=check, name=f"readyz-{check[0]}", daemon=True) for check in CHECKS]
    deadline = time.monotonic() + timeout + 0.5
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        for name, _ in CHECKS:
            results.setdefault(name, {"ok": False, "error": f"timed out after {timeout:g}s", "ms": round(timeout * 1000, 1)})
        snapshot = {name: dict(results[name]) for name, _ in CHECKS}
    return all(r["ok"] for r in snapshot.values()), snapshot
