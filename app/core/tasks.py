import logging
import socket

from celery import shared_task
from django.core.cache import cache

from .models import Heartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_COUNT_KEY = "core:heartbeat:count"
HEARTBEAT_LAST_KEY = "core:heartbeat:last"
KEEP_ROWS = 100


@shared_task(name="core.tasks.add")
def add(x, y):
    logger.info("add(%s, %s)", x, y)
    return x + y


@shared_task(name="core.tasks.heartbeat", ignore_result=True)
def heartbeat():
    """Periodic (beat) task with two observable effects: a Heartbeat row and a cache counter."""
    row = Heartbeat.objects.create(hostname=socket.gethostname()[:255])
    stale = Heartbeat.objects.order_by("-created_at", "-id").values_list("id", flat=True)[KEEP_ROWS:]
    Heartbeat.objects.filter(id__in=list(stale)).delete()
    cache.add(HEARTBEAT_COUNT_KEY, 0, timeout=None)
    count = cache.incr(HEARTBEAT_COUNT_KEY)
    cache.set(HEARTBEAT_LAST_KEY, row.created_at.isoformat(), timeout=None)
    return count
