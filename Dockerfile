# syntax=docker/dockerfile:1
# VDXP connector image: Node 22 on Debian bookworm slim, node-rdkafka built from source in a
# build stage, runtime as an unprivileged numeric user (the Helm chart sets runAsNonRoot and a
# read-only root filesystem; only /tmp and the file-drop volume are writable).
#
#   docker build -t registry.example.gov.vn/vdxp/vdxp-connector:0.1.0 .
#   podman build -t ... .      (or: buildah bud -t ... .)

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-rdkafka compiles its bundled librdkafka with node-gyp: a C/C++ toolchain, python3, and
# the OpenSSL (TLS, SCRAM), zlib and zstd headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libssl-dev zlib1g-dev libzstd-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
RUN npx tsc -p tsconfig.json \
 && rm -rf dist/test dist/bench \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# Shared libraries librdkafka links against, CA roots, and tini to forward SIGTERM and reap.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 zlib1g libzstd1 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vdxp \
 && useradd --system --uid 10001 --gid vdxp --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin vdxp
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
# The public government CA certificates of `trust.anchors: national` (pinned in src/signature/national-ca.ts).
COPY --chown=root:root config/trust/national-ca ./config/trust/national-ca
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/vdxp/config/agency.yaml"]
