"""
The request id nginx sets (X-Request-ID) on every log record of the request, and of the Celery tasks
the request enqueues: a context variable set by RequestIdMiddleware in the web process, carried to the
worker in the task message's headers, and set again around the task there.
"""
import contextvars
import logging

from celery import signals

HEADER = "X-Request-ID"
_current = contextvars.ContextVar("request_id", default="")


def current():
    return _current.get()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (empty outside a request or task) to each record."""

    def filter(self, record):
        record.request_id = _current.get()
        return True


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(request.headers.get(HEADER, "")[:128])
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


@signals.before_task_publish.connect
def _send_request_id(headers=None, **_kwargs):
    if headers is not None and _current.get():
        headers["request_id"] = _current.get()


@signals.task_prerun.connect
def _take_request_id(task=None, **_kwargs):
    if task is None:
        return
    # Celery puts a message's extra headers on the request itself (protocol 2), older ones under .headers.
    request_id = getattr(task.request, "request_id", None) or (getattr(task.request, "headers", None) or {}).get("request_id")
    task.request.djangostack_token = _current.set(str(request_id or "")[:128])


@signals.task_postrun.connect
def _drop_request_id(task=None, **_kwargs):
    token = getattr(task.request, "djangostack_token", None) if task is not None else None
    if token is not None:
        _current.reset(token)
