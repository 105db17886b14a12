#!/usr/bin/env bash
# The main job on one machine: a local Kafka backbone plus the two sample agencies,
# 000.00.00.H41 (UBND Tỉnh Nghệ An) sending and 000.00.00.G22 (Văn phòng Chính phủ) receiving,
# each a real `vdxp run` process with the documented config from config/. It sends one package
# across, prints where to drop more, and runs until Ctrl-C (then drains and stops everything).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
source "$ROOT/scripts/env.sh"
cd "$ROOT"

export VDXP_RUN_DIR="${VDXP_RUN_DIR:-${TMPDIR:-/tmp}/vdxp-dev}"
DEMO="$VDXP_RUN_DIR/demo"
SENDER=000.00.00.H41
RECEIVER=000.00.00.G22
bash scripts/kafka.sh start
mkdir -p "$DEMO"
bash scripts/demo-pki.sh "$DEMO/pki" "$SENDER" "$RECEIVER"

pids=()
cleanup() {
  echo; echo "[demo] stopping the connectors (SIGTERM: drain, commit, exit) and Kafka"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash scripts/kafka.sh stop
}
trap cleanup EXIT
trap 'exit 0' INT TERM

start_agency() {
  local organ="$1" port="$2"
  mkdir -p "$DEMO/$organ/outbox" "$DEMO/$organ/inbox"
  : >"$DEMO/$organ/connector.log"
  # The documented config, with single keys overridden from the environment (see config/*.yaml).
  VDXP__KAFKA__BROKERS="[127.0.0.1:${KAFKA_PORT:-9092}]" \
  VDXP__CONNECTORS__0__OPTIONS__DIR="$DEMO/$organ/outbox" \
  VDXP__CONNECTORS__1__OPTIONS__DIR="$DEMO/$organ/inbox" \
  VDXP__OPS__PORT="$port" \
  VDXP__SIGNING="{keyFile: $DEMO/pki/$organ.key, certFile: $DEMO/pki/$organ.crt}" \
  VDXP__TRUST="{anchors: [$DEMO/pki/ca.crt], crls: [$DEMO/pki/ca.crl]}" \
    node dist/src/cli/main.js run --config "config/$organ.yaml" >>"$DEMO/$organ/connector.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 120); do
    grep -q '"connector running"' "$DEMO/$organ/connector.log" && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "[demo] $organ did not start:"; tail -20 "$DEMO/$organ/connector.log"; exit 1; }
    sleep 0.25
  done
  echo "[demo] $organ did not start in 30 s; see $DEMO/$organ/connector.log"; exit 1
}

# The receiver first: each connector creates its own topics, and a sender refuses unknown recipients.
start_agency "$RECEIVER" 9465
start_agency "$SENDER" 9464

first="$DEMO/first-document.edxml"
node dist/src/cli/main.js new-edoc --from "$SENDER" --to "$RECEIVER" --number 1 \
  --subject "Trục liên thông văn bản quốc gia chính thức kết nối 95/95 bộ, ngành, địa phương" -o "$first"
# The same document every run lands under the same name (its idempotency key): only a file
# written after this marker counts as this run's arrival.
marker="$DEMO/.sent-at"
touch "$marker"
arrival() { find "$DEMO/$RECEIVER/inbox" -maxdepth 1 -name '*.edxml' -newer "$marker" | head -1; }
before=$(date +%s%N)
cp "$first" "$DEMO/$SENDER/outbox/.first-document.edxml.part"
mv "$DEMO/$SENDER/outbox/.first-document.edxml.part" "$DEMO/$SENDER/outbox/first-document.edxml"
for _ in $(seq 1 200); do
  [ -n "$(arrival)" ] && break
  sleep 0.05
done
after=$(date +%s%N)
arrived=$(arrival)
[ -n "$arrived" ] || { echo "[demo] the first document did not arrive; see $DEMO/*/connector.log"; exit 1; }

cat <<MSG

[demo] a document crossed from $SENDER to $RECEIVER in $(( (after - before) / 1000000 )) ms, signed by $SENDER's connector
       and verified by $RECEIVER's against the demo CA:
         sent:     $DEMO/$SENDER/outbox/sent/first-document.edxml
         arrived:  $arrived
       Status 01 (arrived) comes back to $DEMO/$SENDER/inbox/.

  Drop more packages from $SENDER into:   $DEMO/$SENDER/outbox/
    (write them as .name.part and rename, e.g. made with:
     node dist/src/cli/main.js new-edoc --from $SENDER --to $RECEIVER --number 2 -o /tmp/x.part && mv /tmp/x.part $DEMO/$SENDER/outbox/x.edxml)
  They arrive in:                         $DEMO/$RECEIVER/inbox/
  Rejected ones, with the reason:         $DEMO/$SENDER/outbox/rejected/
  Metrics:  http://127.0.0.1:9464/metrics  (H41)   http://127.0.0.1:9465/metrics  (G22)
  Logs:     $DEMO/<agency>/connector.log

  Ctrl-C stops everything.
MSG
wait
