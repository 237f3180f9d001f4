"""
Settings for the djangostack sample project, read entirely from the environment.

The contract (set by djangostack, see src/model/build.ts appEnv/appSecretEnv) is documented in
app/README.md. The code runs on Debian 12's packages (Django 3.2, Celery 5.2, dj-database-url 0.5,
django-redis 5.2) and on the versions pinned in requirements.txt (Django 5.2, Celery 5.6).
"""
import os
import re
import ssl
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import django
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is false")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"

# "*" is allowed. localhost is always useful for probes; djangostack adds it explicitly too.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

# Django 4.0+ wants scheme://host; Django 3.2 compares bare hosts against the Referer.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
if django.VERSION < (4, 0):
    CSRF_TRUSTED_ORIGINS = [o.split("://", 1)[-1] for o in CSRF_TRUSTED_ORIGINS]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core.apps.CoreConfig",
]

MIDDLEWARE = [
    # First, so probes bypass ALLOWED_HOSTS, the SSL redirect and sessions entirely.
    "core.middleware.HealthCheckMiddleware",
    # Second: serves DJANGO_METRICS_PATH before ALLOWED_HOSTS is checked, and times every request past the probes.
    "core.metrics.MetricsMiddleware",
    "config.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Paths the probes answer on (also routed in urls.py). Must match the stack's healthPath/readyPath.
HEALTH_PATH = env_str("DJANGO_HEALTH_PATH", "/api/v1/health/")
READY_PATH = env_str("DJANGO_READY_PATH", "/readyz/")
# Prometheus metrics (core/metrics.py); unset or empty: no endpoint. djangostack sets it from apps[].metrics.path.
METRICS_PATH = env_str("DJANGO_METRICS_PATH", "")
READYZ_TIMEOUT = env_float("DJANGO_READYZ_TIMEOUT", 2.5)  # seconds, per check (checks run in parallel)

# --- Database -------------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DJANGO_DB_CONN_MAX_AGE", 60))
    # dj-database-url 0.5 (Debian 12) still names the pre-Django-3.0 module postgresql_psycopg2.
    if _db["ENGINE"] == "django.db.backends.postgresql_psycopg2":
        _db["ENGINE"] = "django.db.backends.postgresql"
    if _db["ENGINE"] == "django.db.backends.postgresql":
        _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DJANGO_DB_CONNECT_TIMEOUT", 3))
    if django.VERSION >= (4, 1):
        _db["CONN_HEALTH_CHECKS"] = True
elif DEBUG:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": env_str("DJANGO_SQLITE_PATH", "/tmp/djangostack-dev.sqlite3")}
else:
    # Commands that need no database (collectstatic, check) still work; any query raises
    # ImproperlyConfigured and /readyz/ reports "DATABASE_URL is not set".
    _db = {"ENGINE": "django.db.backends.dummy"}
DATABASES = {"default": _db}

# --- Cache and sessions (Redis through django-redis) ----------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("DJANGO_CACHE_KEY_PREFIX", ""),
            "TIMEOUT": env_int("DJANGO_CACHE_TIMEOUT", 300),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    # Per-process memory: fine for DEBUG; /readyz/ fails on it when DEBUG is false.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# cached_db: reads from Redis, writes through to the database, so a Redis flush or eviction
# does not log everybody out. Set to ...backends.cache for Redis-only sessions.
SESSION_ENGINE = env_str("DJANGO_SESSION_ENGINE", "django.contrib.sessions.backends.cached_db")
SESSION_CACHE_ALIAS = "default"

# --- Security -------------------------------------------------------------------------------------

SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    # nginx terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# nginx redirects to HTTPS; if this is turned on anyway, probes stay on plain HTTP.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^" + re.escape(p.lstrip("/")) + r"$" for p in (HEALTH_PATH, READY_PATH)]
# The edge owns HSTS; opt in here only if Django is reached without it.
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Static and media -----------------------------------------------------------------------------

STATIC_URL = env_str("DJANGO_STATIC_URL", "/static/")
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
MEDIA_URL = env_str("DJANGO_MEDIA_URL", "/media/")
MEDIA_ROOT = env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))

# Uploads: MEDIA_ROOT on a volume, or (DJANGO_MEDIA_STORAGE=s3, djangostack's apps[].media.storage
# "spaces") a bucket through django-storages' S3 backend, which builds the URLs itself: signed
# (query-string auth, expiring) for private objects, plain for public-read ones. django-storages 1.13
# (Debian 12) and the pinned release read the same AWS_* settings.
MEDIA_STORAGE = env_str("DJANGO_MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE == "s3":
    _MEDIA_STORAGE = "storages.backends.s3boto3.S3Boto3Storage"
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
    if not AWS_STORAGE_BUCKET_NAME or not AWS_S3_ENDPOINT_URL:
        raise ImproperlyConfigured("DJANGO_MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY") or None
    # Spaces applies per-object ACLs; "private" objects are reachable only through signed URLs.
    AWS_DEFAULT_ACL = env_str("AWS_DEFAULT_ACL", "private")
    AWS_QUERYSTRING_AUTH = env_bool("AWS_QUERYSTRING_AUTH", True)
    AWS_QUERYSTRING_EXPIRE = env_int("AWS_QUERYSTRING_EXPIRE", 3600)
    # SigV4 for requests and signed URLs alike (botocore may otherwise presign with V2).
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    # Two uploads of the same name get two objects (Django appends a suffix), as on a volume.
    AWS_S3_FILE_OVERWRITE = False
    # botocore >= 1.36 adds CRC32 checksum headers to every upload by default, which S3-compatible
    # stores may refuse (aws/aws-cli#9214, boto/boto3#4392); only when an operation requires one.
    # Older botocore (Debian 12's 1.29) reads neither variable.
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
elif MEDIA_STORAGE == "filesystem":
    _MEDIA_STORAGE = "django.core.files.storage.FileSystemStorage"
else:
    raise ImproperlyConfigured(f"DJANGO_MEDIA_STORAGE must be filesystem or s3, got {MEDIA_STORAGE!r}")

# Hashed file names (style.3f2a1b.css) so nginx can serve them as immutable for a year.
# With DEBUG false, run collectstatic before serving templates that use {% static %} (admin).
# DJANGO_STATIC_STORAGE=s3: the same hashed files in the media bucket, served by the Spaces CDN.
STATIC_STORAGE = env_str("DJANGO_STATIC_STORAGE", "filesystem")
if STATIC_STORAGE == "s3":
    if MEDIA_STORAGE != "s3":
        raise ImproperlyConfigured("DJANGO_STATIC_STORAGE=s3 keeps static files in the media bucket: it needs DJANGO_MEDIA_STORAGE=s3")
    _STATIC_STORAGE = "config.storage.StaticStorage"
elif STATIC_STORAGE == "filesystem":
    _STATIC_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
else:
    raise ImproperlyConfigured(f"DJANGO_STATIC_STORAGE must be filesystem or s3, got {STATIC_STORAGE!r}")
if django.VERSION >= (4, 2):
    STORAGES = {
        "default": {"BACKEND": _MEDIA_STORAGE},
        "staticfiles": {"BACKEND": _STATIC_STORAGE},
    }
else:
    DEFAULT_FILE_STORAGE = _MEDIA_STORAGE
    STATICFILES_STORAGE = _STATIC_STORAGE

# --- Logging (stdout) -----------------------------------------------------------------------------

LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "config.requestid.RequestIdFilter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json" if env_str("DJANGO_LOG_FORMAT", "plain") == "json" else "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Error tracking (SENTRY_DSN: djangostack:sentryDsn) ---------------------------------------------

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    # Imported only when asked for: a DSN without the SDK installed fails at start, not silently.
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT") or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=0,
    )

# --- Celery (namespace CELERY_, read by config/celery.py) -----------------------------------------

# Celery itself also reads the CELERY_BROKER_URL / CELERY_RESULT_BACKEND environment variables.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or ("memory://" if DEBUG else None)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or ("cache+memory://" if DEBUG else None)
if CELERY_RESULT_BACKEND and CELERY_RESULT_BACKEND.startswith("rediss://"):
    # Celery refuses rediss:// without an explicit certificate policy; default to verifying.
    if "ssl_cert_reqs" not in parse_qs(urlsplit(CELERY_RESULT_BACKEND).query):
        CELERY_REDIS_BACKEND_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
# The worker logs through LOGGING above (JSON lines with the request id) instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Local development without a broker: run tasks inline.
CELERY_TASK_ALWAYS_EAGER = DEBUG and not env_str("CELERY_BROKER_URL")

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # Celery 5.3+; ignored by 5.2
CELERY_RESULT_EXPIRES = env_int("CELERY_RESULT_EXPIRES", 3600)
# Celery retries a lost Redis result backend 20 times a second apart; keep web requests short.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 3, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
}
if os.environ.get("CELERY_TASK_TIME_LIMIT"):
    CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
if os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT"):
    CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 270)

HEARTBEAT_TASK_INTERVAL = env_float("CELERY_HEARTBEAT_INTERVAL", 60.0)  # seconds
CELERY_BEAT_SCHEDULE = {
    "core-heartbeat": {
        "task": "core.tasks.heartbeat",
        "schedule": HEARTBEAT_TASK_INTERVAL,
        # Don't pile up heartbeats while no worker consumes them.
        "options": {"expires": max(1.0, HEARTBEAT_TASK_INTERVAL)},
    },
}
CELERY_BEAT_SCHEDULER = "config.celery:HeartbeatScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = env_str("CELERY_BEAT_SCHEDULE_FILENAME", "/tmp/celery/beat-schedule")
# beat sleeps up to this long between ticks; each tick refreshes the beat heartbeat file,
# which the liveness probe requires to be younger than 120 s (Celery's default is 300 s).
CELERY_BEAT_MAX_LOOP_INTERVAL = min(30, max(1, int(HEARTBEAT_TASK_INTERVAL)))

# Probe files are read from the environment by config/celery.py (defaults equal djangostack's
# PATHS): CELERY_WORKER_HEARTBEAT_FILE, CELERY_WORKER_READY_FILE, CELERY_BEAT_HEARTBEAT_FILE.
