#!/usr/bin/env bash
# The benchmarks of issue 7 (not part of CI): installs what is missing (scripts/setup.sh, which
# also builds), starts a private Kafka on its own ports (29092/29093, fresh data, never the test
# broker on 19092 or the demo on 9092), runs bench/main.ts, stops Kafka. Prints one table and
# writes docs/BENCHMARKS.md. About 6–8 minutes with the defaults.
#
# Durations and rows (defaults in brackets):
#   BENCH_E2E_WARMUP_SECONDS [60]  BENCH_E2E_SECONDS [60]  BENCH_E2E_BACKLOG [64]  BENCH_STEADY_SECONDS [30]  BENCH_STEADY_RATE [50]
#   BENCH_LARGE_MB [200] (0 skips)  BENCH_LARGE_TIMEOUT_SECONDS [120]  BENCH_COLD_RUNS [5]
#   BENCH_TRAIL_RECORDS [100000,1000000]
#   BENCH_VXP_DOCS [500]  BENCH_ROWS [documents,e2e,steady,vxp,large,cold,trail]  BENCH_PROFILE [1]: afterwards, fresh A and B run 30 s saturated under node --cpu-prof
#   BENCH_OUT [docs/BENCHMARKS.md]  BENCH_KAFKA_PORT [29092]  BENCH_KAFKA_CONTROLLER_PORT [29093]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

export VDXP_RUN_DIR="${TMPDIR:-/tmp}/vdxp-bench"
export KAFKA_PORT="${BENCH_KAFKA_PORT:-29092}" KAFKA_CONTROLLER_PORT="${BENCH_KAFKA_CONTROLLER_PORT:-29093}"
export KAFKA_VERSION
export BENCH_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export BENCH_OUT="${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}"
profiles="$VDXP_RUN_DIR/profiles"
rm -rf "$profiles"
if [ "${BENCH_PROFILE:-1}" != 0 ]; then export BENCH_PROFILE_DIR="$profiles"; fi

bash scripts/kafka.sh reset >/dev/null 2>&1 || true
bash scripts/kafka.sh start
trap 'bash scripts/kafka.sh stop' EXIT

# --expose-gc: the trail rows measure the read model's heap after a collection.
node --expose-gc dist/bench/main.js
if [ -n "${BENCH_PROFILE_DIR:-}" ] && [ -d "$profiles" ]; then
  echo "CPU profiles of A and B (open in Chrome DevTools or summarise with node dist/bench/profile.js): $profiles"
fi
