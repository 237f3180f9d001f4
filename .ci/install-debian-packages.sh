#!/usr/bin/env bash
# Installs the Debian packages the integration suite (tests/integration) runs as real servers,
# then stops the services their postinst scripts start, so the suite's own servers own their ports.
# Idempotent: safe to run on a machine that already has everything.
set -euo pipefail

PACKAGES=(
  nginx-light
  postgresql postgresql-client-15
  redis-server redis-tools
  rabbitmq-server erlang-base
  python3 python3-django gunicorn python3-celery python3-django-redis python3-redis
  python3-psycopg2 python3-dj-database-url python3-amqp python3-kombu
  python3-whitenoise python3-django-celery-beat
  cloud-init
  openssl curl procps ca-certificates tini busybox
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
# not hold 80/5432/6379/5672 or an epmd; the suite starts its own on free loopback ports.
for svc in nginx postgresql redis-server rabbitmq-server; do
  service "$svc" stop >/dev/null 2>&1 || true
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
# rabbitmqctl (run by the stop above) leaves an epmd daemon on 4369; with no node registered, end it.
if command -v epmd >/dev/null 2>&1; then epmd -kill >/dev/null 2>&1 || true; fi
