#!/usr/bin/env bash
# RabbitMQ from Debian's rabbitmq-server, for the AMQP connector's tests and demo.
#   scripts/rabbitmq.sh start|stop|status
# Listens on 127.0.0.1:5672; guest/guest works over loopback. Its data lives where Debian keeps it
# (/var/lib/rabbitmq): RabbitMQ runs as its own system user, so the start is idempotent and
# the tests use fresh, uniquely named queues instead of a fresh data dir.
set -euo pipefail
log() { printf '[rabbitmq] %s\n' "$*" >&2; }
command -v rabbitmq-server >/dev/null || { log "rabbitmq-server missing: run scripts/setup.sh"; exit 1; }

ENV_FILE=/etc/rabbitmq/rabbitmq-env.conf
ensure_env() {
  # Sandboxes may not resolve the short hostname; loopback only, and a fixed node name.
  if ! grep -q '^NODENAME=rabbit@localhost' "$ENV_FILE" 2>/dev/null; then
    mkdir -p /etc/rabbitmq
    printf 'NODENAME=rabbit@localhost\nNODE_IP_ADDRESS=127.0.0.1\n' >"$ENV_FILE"
  fi
}

running() { timeout 20 rabbitmqctl -q status >/dev/null 2>&1; }

case "${1:-}" in
  start)
    ensure_env
    if running; then log "already running"; exit 0; fi
    log "starting"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    if timeout 120 rabbitmqctl -q await_startup >/dev/null 2>&1; then log "ready on 127.0.0.1:5672"; exit 0; fi
    log "did not start; see /var/log/rabbitmq"; exit 1 ;;
  stop)
    if running; then timeout 60 rabbitmqctl -q stop >/dev/null 2>&1 || true; log "stopped"; fi ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
