#!/usr/bin/env bash
# A single-node Apache Kafka in KRaft mode, from the Maven Central jars that setup.sh fetched.
#   scripts/kafka.sh start    start (idempotent), wait until it answers, create nothing
#   scripts/kafka.sh stop     stop cleanly and wait for the process to end
#   scripts/kafka.sh status   exit 0 if it is running and answering
# Data and logs live under $VDXP_RUN_DIR/kafka (default /tmp/vdxp-dev/kafka).
# KAFKA_PORT (default 9092) and KAFKA_CONTROLLER_PORT (default 9093) choose the ports.
#
# KAFKA_SECURITY=sasl_ssl turns the client listener into SASL_SSL with SCRAM (Decision 28/2018:
# encrypted and authenticated); the controller listener stays plaintext on loopback. It needs:
#   KAFKA_SSL_KEYSTORE           PKCS12 file with the broker's key and certificate chain
#   KAFKA_SSL_KEYSTORE_PASSWORD  its password
#   KAFKA_SSL_CA                 PEM CA the broker trusts for its own inter-broker connection
#   KAFKA_SCRAM_USERS            "name=password name2=password2" (no commas, quotes or ']'):
#                                created when storage is formatted
#   KAFKA_SCRAM_MECHANISM        SCRAM-SHA-512 (default) or SCRAM-SHA-256
#   KAFKA_AUTHORIZER             none (default) or standard: the KRaft StandardAuthorizer, deny
#                                by default; ACLs are then granted through the admin API
#   KAFKA_SUPER_USERS            with standard: "name name2", SCRAM users that administer ACLs
# SCRAM users exist only from the format, so changing them needs `reset` first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
DIR="$RUN_DIR/kafka-$KAFKA_PORT"
PID_FILE="$DIR/kafka.pid"
CLASSPATH="$KAFKA_LIBS/*"
KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
case "$KAFKA_SECURITY" in
  plaintext) LISTENER=PLAINTEXT ;;
  sasl_ssl) LISTENER=SASL_SSL; source "$ROOT/scripts/kafka-secure.sh" ;;
  *) echo "KAFKA_SECURITY must be plaintext or sasl_ssl, not '$KAFKA_SECURITY'" >&2; exit 2 ;;
esac

log() { printf '[kafka] %s\n' "$*" >&2; }

is_running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

answers() {
  # kcat is an independent Kafka client: metadata from the broker means it serves clients.
  if [ "$LISTENER" = PLAINTEXT ]; then kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 >/dev/null 2>&1
  else secure_answers; fi
}

write_config() {
  mkdir -p "$DIR/data"
  cat > "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$LISTENER://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$LISTENER://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=$LISTENER:$LISTENER,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$LISTENER
log.dirs=$DIR/data
num.partitions=1
# The connector creates its topics through the admin API (DESIGN.md §3); nothing appears by accident.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=1
PROPS
  cat > "$DIR/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaServer
        level: INFO
YAML
  if [ "$LISTENER" = SASL_SSL ]; then write_secure_config; fi
}

start() {
  if is_running && answers; then log "already running on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  [ -f "$KAFKA_LIBS/.complete" ] || { log "Kafka jars missing: run scripts/setup.sh"; exit 1; }
  is_running && stop
  write_config
  if [ ! -f "$DIR/data/meta.properties" ]; then
    local cluster_id
    local -a FORMAT_ARGS=()
    if [ "$LISTENER" = SASL_SSL ]; then scram_format_args; fi
    # KAFKA_CLUSTER_ID (22 characters of base64url) saves a JVM start where start-up time counts.
    cluster_id="${KAFKA_CLUSTER_ID:-$(java -cp "$CLASSPATH" -Dlog4j2.configurationFile="$DIR/log4j2.yaml" kafka.tools.StorageTool random-uuid | tail -1)}"
    java -cp "$CLASSPATH" -Dlog4j2.configurationFile="$DIR/log4j2.yaml" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$DIR/server.properties" ${FORMAT_ARGS[@]+"${FORMAT_ARGS[@]}"} >"$DIR/format.log" 2>&1 \
      || { log "storage format failed:"; cat "$DIR/format.log" >&2; exit 1; }
  fi
  log "starting on 127.0.0.1:$KAFKA_PORT (data in $DIR)"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$CLASSPATH" \
    -Dlog4j2.configurationFile="$DIR/log4j2.yaml" \
    kafka.Kafka "$DIR/server.properties" >"$DIR/kafka.log" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 120); do
    if answers; then log "ready"; return 0; fi
    is_running || { log "exited; last lines of $DIR/kafka.log:"; tail -20 "$DIR/kafka.log" >&2; exit 1; }
    sleep 0.5
  done
  log "not ready after 60 s; see $DIR/kafka.log"; exit 1
}

stop() {
  if ! is_running; then rm -f "$PID_FILE"; return 0; fi
  local pid; pid="$(cat "$PID_FILE")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; log "stopped"; return 0; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$PID_FILE"; log "killed after 30 s"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) is_running && answers ;;
  reset) stop; rm -rf "$DIR" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
