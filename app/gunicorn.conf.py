"""
gunicorn configuration shipped in the image (the Dockerfile's CMD uses it:
`gunicorn --config /app/gunicorn.conf.py config.wsgi:application`).

If djangostack's rendered config is mounted (DJANGOSTACK_GUNICORN_CONFIG, default
/etc/djangostack/gunicorn.conf.py) it is executed instead and nothing below applies, so the
image behaves the same whether it is started with this file or with the mounted one.
Otherwise these env-driven defaults apply (plain `docker run`, local development).
Works with gunicorn 20 (Debian 12) and current gunicorn.
"""
import os

_platform_config = os.environ.get("DJANGOSTACK_GUNICORN_CONFIG", "/etc/djangostack/gunicorn.conf.py")

if _platform_config and os.path.isfile(_platform_config):
    with open(_platform_config, encoding="utf-8") as _f:
        exec(compile(_f.read(), _platform_config, "exec"))  # noqa: S102 - our own rendered config
else:
    bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
    workers = int(os.environ.get("GUNICORN_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 2)
    threads = int(os.environ.get("GUNICORN_THREADS") or 1)
    timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
    graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
    keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 5)
    max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 1000)
    max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or 100)
    # Worker heartbeat files on tmpfs: the root filesystem is read-only in production.
    worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    accesslog = "-"
    errorlog = "-"
    loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
    # Honour X-Forwarded-* from the edge (nginx) only; FORWARDED_ALLOW_IPS widens it.
    forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
