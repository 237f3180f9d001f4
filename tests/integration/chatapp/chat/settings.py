"""
Settings that read the twelve-factor names (SECRET_KEY, ALLOWED_HOSTS, DEBUG), unlike the sample app:
the test proves djangostack hands an app its settings under the names the app reads.
"""
import os

SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DEBUG", "False") == "True"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = ["django.contrib.staticfiles", "channels"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "chat.urls"
ASGI_APPLICATION = "chat.asgi.application"
# No database: the consumer and the health view touch none.
DATABASES = {}
STATIC_URL = os.environ.get("DJANGO_STATIC_URL", "/static/")
USE_TZ = True
