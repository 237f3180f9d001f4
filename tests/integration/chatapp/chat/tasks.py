import os

import redis
from celery import shared_task


@shared_task
def tick():
    """Counts the scheduled job's runs in the cache's Redis database (REDIS_URL)."""
    return redis.Redis.from_url(os.environ["REDIS_URL"]).incr("chat:ticks")
