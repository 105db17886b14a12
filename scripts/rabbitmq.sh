#!/usr/bin/env bash
# RabbitMQ from Debian's rabbitmq-server, for the AMQP connector's tests and demo.
#   scripts/rabbitmq.sh start|stop|status|reset      (reset: stop, then delete the node's data)
# By default the shared node rabbit@localhost on 127.0.0.1:5672; guest/guest works over loopback.
# Its data and logs live in a temp dir ($VDXP_RABBITMQ_DIR, default /tmp/vdxp-rabbitmq) owned by
# Debian's rabbitmq user, set through /etc/rabbitmq/rabbitmq-env.conf, which both the server and
# rabbitmqctl read. One broker serves the tests and the demo; tests use uniquely named queues and
# exchanges.
#
# VDXP_RABBITMQ_NODE (e.g. rabbit-fault@localhost) and VDXP_RABBITMQ_PORT (not 5672) select a node
# of its own, which a test may stop and start without disturbing the shared one (the fault suite
# does). Its settings go to <dir>/rabbitmq-env.conf instead (dir: $VDXP_RABBITMQ_DIR, default
# /tmp/vdxp-rabbitmq-<name>); RABBITMQ_CONF_ENV_FILE makes the server and rabbitmqctl read that
# file and never /etc's. Its Erlang distribution port is the AMQP port + 20000; rabbitmqctl's
# own is AMQP port + 20001…20010, below the ephemeral port range; both listen on loopback only.
set -euo pipefail
SHARED_NODE=rabbit@localhost
NODE="${VDXP_RABBITMQ_NODE:-$SHARED_NODE}"
PORT="${VDXP_RABBITMQ_PORT:-5672}"
log() { printf '[rabbitmq %s] %s\n' "$NODE" "$*" >&2; }
command -v rabbitmq-server >/dev/null || { log "rabbitmq-server missing: run scripts/setup.sh"; exit 1; }

if [ "$NODE" = "$SHARED_NODE" ]; then
  DATA_DIR="${VDXP_RABBITMQ_DIR:-/tmp/vdxp-rabbitmq}"
  ENV_FILE=/etc/rabbitmq/rabbitmq-env.conf
else
  [ "$PORT" != 5672 ] || { log "a node of its own needs its own VDXP_RABBITMQ_PORT"; exit 2; }
  DATA_DIR="${VDXP_RABBITMQ_DIR:-/tmp/vdxp-rabbitmq-${NODE%%@*}}"
  ENV_FILE="$DATA_DIR/rabbitmq-env.conf"
  # Read by Debian's rabbitmq-env (sourced by rabbitmq-server and rabbitmqctl) and by the server's
  # own prelaunch; it passes the wrapper's `su rabbitmq`, which keeps the environment.
  export RABBITMQ_CONF_ENV_FILE="$ENV_FILE"
fi
CTL=(rabbitmqctl -n "$NODE")

ensure_env() {
  mkdir -p "$DATA_DIR/mnesia" "$DATA_DIR/log" "$(dirname "$ENV_FILE")"
  # Sandboxes may not resolve the short hostname: a fixed node name, loopback only.
  {
    printf 'NODENAME=%s\nNODE_IP_ADDRESS=127.0.0.1\nMNESIA_BASE=%s/mnesia\nLOG_BASE=%s/log\n' "$NODE" "$DATA_DIR" "$DATA_DIR"
    if [ "$NODE" != "$SHARED_NODE" ] || [ "$PORT" != 5672 ]; then printf 'NODE_PORT=%s\n' "$PORT"; fi
    if [ "$NODE" != "$SHARED_NODE" ]; then
      printf 'CTL_DIST_PORT_MIN=%s\nCTL_DIST_PORT_MAX=%s\n' $((PORT + 20001)) $((PORT + 20010))
      printf "SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'\n"
      printf "CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'\n"
    fi
  } >"$ENV_FILE"
  # The server runs as Debian's rabbitmq user (the wrapper su's to it when started by root).
  chown -R rabbitmq:rabbitmq "$DATA_DIR"
}

running() { timeout 20 "${CTL[@]}" -q status >/dev/null 2>&1; }

# A node of its own whose shutdown did not end it: its beam process, from the PID file the server
# writes, checked by the environment we gave it (a stale PID file could name any process).
leftover_pid() {
  local f="$DATA_DIR/mnesia/$NODE.pid" pid
  [ "$NODE" != "$SHARED_NODE" ] && [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "RABBITMQ_CONF_ENV_FILE=$ENV_FILE" && echo "$pid"
}

stop() {
  if running; then timeout 60 "${CTL[@]}" -q shutdown >/dev/null 2>&1 || true; log "stopped"; fi
  local pid
  if pid="$(leftover_pid)"; then kill -9 "$pid"; log "killed pid $pid"; fi
}

case "${1:-}" in
  start)
    ensure_env
    if running; then log "already running"; exit 0; fi
    log "starting"
    rabbitmq-server -detached >/dev/null 2>&1 || true
    # await_startup fails at once while the node is not yet reachable at all, hence the loop.
    for _ in $(seq 1 60); do
      if timeout 30 "${CTL[@]}" -q await_startup >/dev/null 2>&1; then log "ready on 127.0.0.1:$PORT"; exit 0; fi
      sleep 2
    done
    log "did not start; see $DATA_DIR/log"; exit 1 ;;
  stop) stop ;;
  status) running ;;
  reset) stop; rm -rf "$DATA_DIR" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
