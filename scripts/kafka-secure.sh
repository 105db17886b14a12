#!/usr/bin/env bash
# The SASL_SSL + SCRAM pieces of scripts/kafka.sh (see its header for the variables).
#   scripts/kafka-secure.sh start|stop|status|reset   same as KAFKA_SECURITY=sasl_ssl scripts/kafka.sh …
# kafka.sh sources this file when KAFKA_SECURITY=sasl_ssl; it expects DIR and log() from there.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  KAFKA_SECURITY=sasl_ssl exec "$(dirname "$0")/kafka.sh" "$@"
fi

KAFKA_SCRAM_MECHANISM="${KAFKA_SCRAM_MECHANISM:-SCRAM-SHA-512}"
# The broker authenticates to its own listener as this user (inter-broker traffic is SASL_SSL too).
BROKER_SCRAM_USER=kafka-broker
# KAFKA_AUTHORIZER=standard: the KRaft StandardAuthorizer, deny by default. Only the broker, the
# controller and KAFKA_SUPER_USERS ("name name2", SCRAM users to administer ACLs) are super users;
# every other principal gets what an ACL grants, nothing more (docs/SECURITY.md). The controller
# listener then takes SASL/PLAIN (SCRAM credentials live in the metadata log the controller
# serves, so it cannot use them), and its one user is a super user.
KAFKA_AUTHORIZER="${KAFKA_AUTHORIZER:-none}"
CONTROLLER_USER=kafka-controller

require_secure_settings() {
  local missing=()
  [ -f "${KAFKA_SSL_KEYSTORE:-}" ] || missing+=("KAFKA_SSL_KEYSTORE (PKCS12 file)")
  [ -n "${KAFKA_SSL_KEYSTORE_PASSWORD:-}" ] || missing+=(KAFKA_SSL_KEYSTORE_PASSWORD)
  [ -f "${KAFKA_SSL_CA:-}" ] || missing+=("KAFKA_SSL_CA (PEM file)")
  case "$KAFKA_SCRAM_MECHANISM" in SCRAM-SHA-256 | SCRAM-SHA-512) ;; *) missing+=("KAFKA_SCRAM_MECHANISM SCRAM-SHA-256|SCRAM-SHA-512") ;; esac
  if [ "${#missing[@]}" -gt 0 ]; then
    log "KAFKA_SECURITY=sasl_ssl needs: ${missing[*]}"
    exit 2
  fi
}

# Made once per data directory: SCRAM credentials are fixed when storage is formatted.
broker_scram_password() { secret_in "$DIR/broker-scram.password"; }
controller_password() { secret_in "$DIR/controller-plain.password"; }

secret_in() {
  local file="$1"
  if [ ! -s "$file" ]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

write_authorizer_config() {
  local supers="User:$BROKER_SCRAM_USER;User:$CONTROLLER_USER" name password entries
  read -ra entries <<<"${KAFKA_SUPER_USERS:-}"
  for name in ${entries[@]+"${entries[@]}"}; do
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { log "KAFKA_SUPER_USERS holds SCRAM user names, not '$name'"; exit 2; }
    supers="$supers;User:$name"
  done
  password="$(controller_password)"
  cat >>"$DIR/server.properties" <<PROPS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$supers
listener.security.protocol.map=$LISTENER:$LISTENER,CONTROLLER:SASL_PLAINTEXT
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$CONTROLLER_USER" password="$password" user_$CONTROLLER_USER="$password";
PROPS
}

write_secure_config() {
  require_secure_settings
  local mechanism_lower password
  mechanism_lower="$(printf '%s' "$KAFKA_SCRAM_MECHANISM" | tr '[:upper:]' '[:lower:]')"
  password="$(broker_scram_password)"
  chmod 600 "$DIR/server.properties"
  cat >>"$DIR/server.properties" <<PROPS
sasl.enabled.mechanisms=$KAFKA_SCRAM_MECHANISM
sasl.mechanism.inter.broker.protocol=$KAFKA_SCRAM_MECHANISM
listener.name.sasl_ssl.${mechanism_lower}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_SCRAM_USER" password="$password";
ssl.keystore.type=PKCS12
ssl.keystore.location=$KAFKA_SSL_KEYSTORE
ssl.keystore.password=$KAFKA_SSL_KEYSTORE_PASSWORD
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_SSL_CA
ssl.client.auth=none
PROPS
  case "$KAFKA_AUTHORIZER" in
    none) ;;
    standard) write_authorizer_config ;;
    *) log "KAFKA_AUTHORIZER must be none or standard, not '$KAFKA_AUTHORIZER'"; exit 2 ;;
  esac
  (umask 077 && cat >"$DIR/probe-client.json" <<CLIENT
{
  "metadata.broker.list": "127.0.0.1:$KAFKA_PORT",
  "security.protocol": "sasl_ssl",
  "sasl.mechanisms": "$KAFKA_SCRAM_MECHANISM",
  "sasl.username": "$BROKER_SCRAM_USER",
  "sasl.password": "$password",
  "ssl.ca.location": "$KAFKA_SSL_CA"
}
CLIENT
  )
}

# Debian 12's kcat (librdkafka 2.0.2) fails SCRAM against Kafka 4.x even with the right password
# (librdkafka < 2.6.1 vs the strict nonce check since Kafka 3.8.1), and a JVM admin client takes
# 7-15 s to start on a busy 2-core machine, so the secure listener is probed with the project's
# own node-rdkafka (librdkafka 2.12): TLS handshake, SCRAM, metadata.
secure_answers() {
  (cd "$ROOT" && node -e '
    const config = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const producer = new (require("node-rdkafka").Producer)(config);
    producer.connect({ timeout: 5000 }, (err) => process.exit(err ? 1 : 0));
  ' "$DIR/probe-client.json") >/dev/null 2>&1
}

# Sets FORMAT_ARGS (declared by the caller) to one --add-scram per user, the broker's own first.
scram_format_args() {
  local entry name password entries
  FORMAT_ARGS+=(--add-scram "$KAFKA_SCRAM_MECHANISM=[name=$BROKER_SCRAM_USER,password=$(broker_scram_password)]")
  read -ra entries <<<"${KAFKA_SCRAM_USERS:-}"
  for entry in ${entries[@]+"${entries[@]}"}; do
    name="${entry%%=*}"
    password="${entry#*=}"
    if [ -z "$name" ] || [ "$name" = "$entry" ] || [ -z "$password" ] || [[ "$entry" == *[,\]\"]* ]]; then
      log "KAFKA_SCRAM_USERS entries are name=password without commas, quotes or ']', not '$name=…'"
      exit 2
    fi
    FORMAT_ARGS+=(--add-scram "$KAFKA_SCRAM_MECHANISM=[name=$name,password=$password]")
  done
}
