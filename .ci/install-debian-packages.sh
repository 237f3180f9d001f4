#!/usr/bin/env bash
# Installs the Debian packages the integration suite (tests/integration) runs as real servers.
# The suite starts its own nginx, PostgreSQL, Redis and RabbitMQ on loopback with its own ports and
# data dirs, so the system services these packages bring are of no use and only hold ports: a
# policy-rc.d keeps the install from starting them, and afterwards they are stopped and disabled at
# boot (systemd and sysv-rc), which the script prints. cloud-init, needed only for `cloud-init
# schema`, is kept from running at boot when this script installed it.
# Idempotent: safe to run on a machine that already has everything.
set -euo pipefail

PACKAGES=(
  nginx-light
  postgresql postgresql-client-15
  redis-server redis-tools
  rabbitmq-server erlang-base
  python3 python3-django gunicorn python3-celery python3-django-redis python3-redis
  python3-psycopg2 python3-dj-database-url python3-amqp python3-kombu
  python3-whitenoise python3-django-celery-beat python3-sentry-sdk
  daphne python3-uvicorn python3-django-channels python3-websockets  # ASGI servers (apps[].server)
  python3-django-storages python3-boto3 python3-botocore  # media on a bucket (apps[].media.storage spaces): tests/integration/media-s3.test.ts
  python3-gevent  # Celery's gevent pool (workers[].pool: gevent; seed 002's notification worker)
  cloud-init
  openssl curl procps ca-certificates tini busybox
  wrk nghttp2-client  # npm run bench: HTTP/1.1 and TLS/HTTP/2 load generators
  python3-prometheus-client prometheus prometheus-nginx-exporter prometheus-postgres-exporter prometheus-redis-exporter  # monitoring: the app's /metrics, promtool for the alert rules, the exporters against the test servers
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Keep package installs from starting services where policy-rc.d is honoured.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
  echo "install-debian-packages: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-debian-packages: all ${#PACKAGES[@]} packages present"
fi

# Services the packages may have started (or that a previous boot started): stop them so they do
# not hold 80/5432/6379/5672 or an epmd, and disable them so a reboot does not bring them back.
services=(nginx postgresql redis-server rabbitmq-server)
services+=(prometheus prometheus-nginx-exporter prometheus-postgres-exporter prometheus-redis-exporter)  # they hold 9090 and the exporters' ports
systemd_booted=0
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemd_booted=1; fi
for svc in "${services[@]}"; do
  if [ "$systemd_booted" = 1 ]; then
    systemctl stop "$svc" >/dev/null 2>&1 || true
  else
    service "$svc" stop >/dev/null 2>&1 || true
  fi
  # Both boot systems: systemctl edits unit symlinks even when systemd is not running.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable "$svc" >/dev/null 2>&1 || true; fi
  if [ -e "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null 2>&1; then update-rc.d "$svc" disable >/dev/null 2>&1 || true; fi
done
# Erlang's epmd is socket-activated under systemd; the suite's RabbitMQ starts its own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable epmd.socket epmd.service >/dev/null 2>&1 || true; fi
if [ "$systemd_booted" = 1 ]; then systemctl stop epmd.socket epmd.service >/dev/null 2>&1 || true; fi
# rabbitmqctl (run by the stop above) leaves an epmd daemon on 4369; with no node registered, end it.
if command -v epmd >/dev/null 2>&1; then epmd -kill >/dev/null 2>&1 || true; fi
echo "install-debian-packages: stopped and disabled the system services ${services[*]} (the tests start their own on loopback)"

# A machine that did not have cloud-init would otherwise run it at the next boot and let it
# reconfigure the network, users and ssh; the official switch keeps it installed but inert.
for p in "${missing[@]}"; do
  if [ "$p" = cloud-init ]; then
    mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled
    echo "install-debian-packages: cloud-init installed for \`cloud-init schema\` only; disabled at boot (/etc/cloud/cloud-init.disabled)"
  fi
done
