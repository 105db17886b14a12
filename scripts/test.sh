#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), starts a private Kafka
# (KRaft, port 19092, fresh data) and RabbitMQ, runs the unit and integration tests, stops Kafka.
#   bash scripts/test.sh            everything
#   bash scripts/test.sh unit       unit tests only (no services)
#   bash scripts/test.sh only dist/test/integration/x.test.js …
#                                   the named test files, with the services (a broker of its own:
#                                   set VDXP_TEST_KAFKA_PORT and VDXP_TEST_RUN_DIR to run beside another suite)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

# VDXP_TEST_KAFKA_PORT / VDXP_TEST_RUN_DIR move the private broker, e.g. to run two suites at once.
export KAFKA_PORT="${VDXP_TEST_KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
export VDXP_RUN_DIR="${VDXP_TEST_RUN_DIR:-${TMPDIR:-/tmp}/vdxp-test}"
export VDXP_TEST_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export VDXP_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/"

MOCHA=(mocha --config .mocharc.json)
if [ "${1:-all}" = "unit" ]; then
  exec "${MOCHA[@]}" 'dist/test/unit/**/*.test.js'
fi
TESTS=('dist/test/unit/**/*.test.js' 'dist/test/integration/**/*.test.js')
if [ "${1:-all}" = "only" ]; then
  shift
  [ $# -gt 0 ] || { echo "usage: scripts/test.sh only <test file>…" >&2; exit 2; }
  TESTS=("$@")
fi

bash scripts/kafka.sh reset >/dev/null 2>&1 || true
bash scripts/kafka.sh start
trap 'bash scripts/kafka.sh stop' EXIT
bash scripts/rabbitmq.sh start

"${MOCHA[@]}" "${TESTS[@]}"
