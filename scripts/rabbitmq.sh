#!/usr/bin/env bash
# RabbitMQ from Debian's rabbitmq-server, for the AMQP connector's tests and demo.
#   scripts/rabbitmq.sh start|stop|status
# Listens on 127.0.0.1:5672; guest/guest works over loopback. Its data and logs live in a temp dir
# ($VDXP_RABBITMQ_DIR, default /tmp/vdxp-rabbitmq) owned by Debian's rabbitmq user, set through
# /etc/rabbitmq/rabbitmq-env.conf, which both the server and rabbitmqctl read. One broker serves
# the tests and the demo; tests use uniquely named queues and exchanges.
set -euo pipefail
DATA_DIR="${VDXP_RABBITMQ_DIR:-/tmp/vdxp-rabbitmq}"
log() { printf '[rabbitmq] %s\n' "$*" >&2; }
command -v rabbitmq-server >/dev/null || { log "rabbitmq-server missing: run scripts/setup.sh"; exit 1; }

ENV_FILE=/etc/rabbitmq/rabbitmq-env.conf
ensure_env() {
  mkdir -p "$DATA_DIR/mnesia" "$DATA_DIR/log" /etc/rabbitmq
  chown -R rabbitmq:rabbitmq "$DATA_DIR"
  # Sandboxes may not resolve the short hostname: a fixed node name, loopback only.
  printf 'NODENAME=rabbit@localhost\nNODE_IP_ADDRESS=127.0.0.1\nMNESIA_BASE=%s/mnesia\nLOG_BASE=%s/log\n' "$DATA_DIR" "$DATA_DIR" >"$ENV_FILE"
}

running() { timeout 20 rabbitmqctl -q status >/dev/null 2>&1; }

case "${1:-}" in
  start)
    ensure_env
    if running; then log "already running"; exit 0; fi
    log "starting"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    # await_startup fails at once while the node is not yet reachable at all, hence the loop.
    for _ in $(seq 1 60); do
      if timeout 30 rabbitmqctl -q await_startup >/dev/null 2>&1; then log "ready on 127.0.0.1:5672"; exit 0; fi
      sleep 2
    done
    log "did not start; see $DATA_DIR/log"; exit 1 ;;
  stop)
    if running; then timeout 60 rabbitmqctl -q stop >/dev/null 2>&1 || true; log "stopped"; fi ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
