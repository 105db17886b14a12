# syntax=docker/dockerfile:1
# VDXP connector image: Node 22 on Debian bookworm, node-rdkafka built from source in a build
# stage, a runtime stage without compilers, package managers, tests or dev dependencies, running
# as an unprivileged numeric user on a read-only root filesystem (the Helm chart sets
# runAsNonRoot and readOnlyRootFilesystem; only /tmp and the file-drop volume are writable).
#
#   bash scripts/image.sh                  builds it here (podman; a Debian base made with mmdebstrap),
#                                          writes the SBOM next to it (docs/OPERATIONS.md, Container image)
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t registry.example.gov.vn/vdxp/vdxp-connector:0.1.0 .      where node:22-bookworm-slim is reachable

# The build stage: any Debian bookworm image with Node 22 in /usr/local (headers in
# /usr/local/include/node) and npm. The runtime stage: plain Debian bookworm, to which only the
# node binary is copied, so no npm, headers or yarn are in any of its layers.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-rdkafka compiles its bundled librdkafka with node-gyp: a C/C++ toolchain, python3, and
# the OpenSSL (TLS, SCRAM), zlib and zstd headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libssl-dev zlib1g-dev libzstd-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the headers of the Node in the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# Its own layer: the native build (~3 min) is reused as long as the lock file does not change.
# Behind a TLS-inspecting proxy, pass the CA bundle the build machine trusts as the build secret
# build-ca (scripts/image.sh does): it is mounted for this step only and never stored in a layer.
RUN --mount=type=secret,id=build-ca,required=false \
    NODE_EXTRA_CA_CERTS=/run/secrets/build-ca npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# Only the sources are in the build context (.dockerignore): tests and benchmarks never reach it.
# What node-rdkafka needs at run time is its lib/, build/Release/node-librdkafka.node and the
# librdkafka shared libraries in build/deps (stripped); its bundled sources (~470 MB), static
# libraries, headers, object files, tests and examples stay behind.
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && cd node_modules/node-rdkafka \
 && rm -rf deps src bench ci e2e examples test util/test build/Release/obj.target build/Release/.deps \
      build/deps/*.a build/deps/include build/deps/share build/deps/pkgconfig build/deps/librdkafka \
      build/deps/*.mk build/deps/*.Makefile build/*.mk build/Makefile build/*.Makefile \
 && strip --strip-unneeded build/deps/*.so.* build/Release/*.node \
 && cd /app \
 && find node_modules -name '*.ts' -not -name '*.d.ts' -delete

FROM ${RUNTIME_IMAGE} AS runtime
# Shared libraries librdkafka links against, CA roots, and tini to forward SIGTERM and reap.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 zlib1g libzstd1 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 vdxp \
 && useradd --system --uid 10001 --gid vdxp --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin vdxp
COPY --from=build /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
ENV NODE_ENV=production
# glibc raises its mmap threshold after the first large free, and then keeps freed 900 KiB chunk
# buffers resident: a connector serving a 200 MB getEdoc peaked at 270-304 MB of RSS, 239 with the
# threshold fixed (docs/OPERATIONS.md, Memory).
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
# The public government CA certificates of `trust.anchors: national` (pinned in src/signature/national-ca.ts).
COPY --chown=root:root config/trust/national-ca ./config/trust/national-ca
# OCI labels (scripts/image.sh also writes them as OCI manifest annotations).
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG CREATED=""
ARG SOURCE=""
ARG BASE_NAME=""
LABEL org.opencontainers.image.title="vdxp-connector" \
      org.opencontainers.image.description="Connector between an agency's legacy document system and the VDXP Kafka backbone (edXML, QCVN 102:2016)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${BASE_NAME}" \
      org.opencontainers.image.licenses="UNLICENSED"
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 9464
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli/main.js"]
CMD ["run", "--config", "/etc/vdxp/config/agency.yaml"]
