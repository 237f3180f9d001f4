"""
Settings that read the twelve-factor names (SECRET_KEY, ALLOWED_HOSTS, DEBUG, REDIS_URL,
CELERY_BROKER_URL), unlike the sample app: the tests prove djangostack hands an app its settings under
the names the app reads.
"""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DEBUG", "False") == "True"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = ["django.contrib.staticfiles", "channels", "chat"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "chat.urls"
ASGI_APPLICATION = "chat.asgi.application"
# No database: the consumer and the health view touch none.
DATABASES = {}
STATIC_URL = os.environ.get("DJANGO_STATIC_URL", "/static/")
# Collected at build into the image (static.collect: build), not where the sample app keeps them.
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", "/code/static")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL")
CELERY_TASK_IGNORE_RESULT = True
USE_TZ = True
