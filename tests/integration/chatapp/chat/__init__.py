# Celery's app loads with Django, so `celery -A chat` and @shared_task find it.
from .celery import app as celery_app

__all__ = ["celery_app"]
