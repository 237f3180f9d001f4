"""JSON endpoints of the sample app. See app/README.md for paths and response shapes."""
import json
import logging

from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult
from django.conf import settings
from django.core.cache import cache, caches
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import readiness
from .tasks import HEARTBEAT_COUNT_KEY, HEARTBEAT_LAST_KEY, add
from .models import Heartbeat

MAX_WAIT_SECONDS = 30.0
logger = logging.getLogger(__name__)


def _json(payload, status=200):
    response = JsonResponse(payload, status=status)
    response["Cache-Control"] = "no-store"
    return response


def health(request):
    """Liveness: the process answers. Touches no database, cache or broker."""
    return _json({"status": "ok"})


def readyz(request):
    """Readiness: 200 when database, cache and broker all answer, else 503 naming the failures."""
    ok, checks = readiness.run_checks()
    body = {"status": "ok" if ok else "fail", "checks": checks}
    if ok:
        return _json(body)
    body["failing"] = [name for name, result in checks.items() if not result["ok"]]
    logger.warning("not ready: %s", ", ".join(f"{n} ({checks[n]['error']})" for n in body["failing"]))
    response = _json(body, status=503)
    response._has_been_logged = True  # logged above, once, as a warning rather than a 5xx error
    return response


def index(request):
    return _json(
        {
            "service": "djangostack-sample",
            "endpoints": [
                settings.HEALTH_PATH,
                settings.READY_PATH,
                "/api/v1/tasks/add/?x=2&y=3&wait=1",
                "/api/v1/tasks/<task_id>/",
                "/api/v1/session/",
                "/api/v1/cache/",
                "/api/v1/heartbeat/",
                "/admin/",
            ],
        }
    )


def _params(request):
    params = request.GET.dict()
    if request.method == "POST":
        if request.content_type == "application/json" and request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            params.update({k: str(v) for k, v in body.items()})
        else:
            params.update(request.POST.dict())
    return params


def _task_body(result):
    body = {"task_id": result.id, "state": result.state}
    if result.successful():
        body["result"] = result.result
    elif result.failed():
        body["error"] = repr(result.result)
    return body


@csrf_exempt
@require_http_methods(["GET", "POST"])
def tasks_add(request):
    """Enqueue core.tasks.add(x, y); with wait=1 block up to `timeout` seconds for the result."""
    try:
        params = _params(request)
        x, y = int(params.get("x", "2")), int(params.get("y", "3"))
        wait = params.get("wait", "0").lower() in ("1", "true", "yes")
        timeout = min(MAX_WAIT_SECONDS, max(0.1, float(params.get("timeout", "10"))))
    except ValueError as exc:
        return _json({"error": f"bad parameters: {exc}"}, status=400)
    try:
        result = add.apply_async((x, y), retry=True, retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5})
    except Exception as exc:  # noqa: BLE001 - broker down or misconfigured
        return _json({"error": f"could not enqueue: {readiness.describe_error(exc)}"}, status=503)
    logger.info("enqueued core.tasks.add as %s", result.id)
    if not wait:
        return _json({"task_id": result.id, "state": result.state}, status=202)
    try:
        result.get(timeout=timeout, propagate=False, interval=0.1)
    except CeleryTimeoutError:
        return _json({"task_id": result.id, "state": result.state, "error": f"no result within {timeout:g}s"}, status=504)
    return _json(_task_body(result))


@require_http_methods(["GET"])
def task_status(request, task_id):
    return _json(_task_body(AsyncResult(task_id, app=add.app)))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def session_view(request):
    """Increment a per-session counter; reports where the session lives in the cache."""
    request.session["count"] = request.session.get("count", 0) + 1
    if request.session.session_key is None:
        request.session.save()
    body = {"count": request.session["count"], "session_key": request.session.session_key, "engine": settings.SESSION_ENGINE}
    cache_key = getattr(request.session, "cache_key", None)  # cache and cached_db engines
    if cache_key:
        body["cache_key"] = str(caches[settings.SESSION_CACHE_ALIAS].make_key(cache_key))
    return _json(body)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def cache_view(request):
    """Increment a shared counter in the default cache (Redis in production)."""
    key = "core:cache:hits"
    cache.add(key, 0, timeout=None)
    hits = cache.incr(key)
    return _json({"hits": hits, "key": str(cache.make_key(key)), "backend": settings.CACHES["default"]["BACKEND"]})


@require_http_methods(["GET"])
def heartbeat_view(request):
    """What the periodic heartbeat task has done: cache counter, last run, database rows."""
    latest = Heartbeat.objects.first()
    return _json(
        {
            "count": cache.get(HEARTBEAT_COUNT_KEY) or 0,
            "last": cache.get(HEARTBEAT_LAST_KEY),
            "rows": Heartbeat.objects.count(),
            "latest_row": latest.created_at.isoformat() if latest else None,
        }
    )
