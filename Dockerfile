# Agentry's container image: every role from one image (docs/operations/container.md).
#
#   docker build -t agentry .
#   docker run -d -p 7700:7700 -v agentry-data:/data \
#     -e AGENTRY_API_KEYS="admin:$(openssl rand -hex 32):admin" agentry            # agentry serve
#   docker run -d -e AGENTRY_DATABASE_URL=postgres://… agentry start worker      # one role
#
# Build arguments: NODE_IMAGE (the Node 20 base; scripts/docker-base-image.sh makes one where no
# registry can be reached), VERSION, REVISION and SOURCE (the org.opencontainers.image labels).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, the compiled dist/ (modules and bundle), then only the production dependencies ----
FROM ${NODE_IMAGE} AS build
# better-sqlite3 is compiled here against the base image's Node headers (/usr/local/include/node)
# rather than fetched prebuilt: the build needs the npm registry and the Debian mirror, nothing else.
# (npm warns that it does not know build-from-source: prebuild-install, which reads it, does.)
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /build
# The dependencies first: this layer (and the addon's compilation) is reused until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.ts ./scripts/
COPY src ./src
# The web console (`npm run build` builds it into dist/ui).
COPY ui ./ui
# Of the compiled addon only the module itself is kept (not its objects, sources and SQLite's).
RUN npm run build \
  && npm prune --omit=dev \
  && cd node_modules/better-sqlite3 \
  && mv build/Release/better_sqlite3.node . \
  && rm -rf build deps src \
  && mkdir -p build/Release \
  && mv better_sqlite3.node build/Release/

# ---- runtime: Node, tini, the package and its production dependencies ----
FROM ${NODE_IMAGE}
# tini is PID 1: it forwards SIGTERM/SIGINT to agentry (which stops gracefully) and reaps zombies
# (MCP tool servers run as child processes).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 agentry \
  && useradd --system --uid 10001 --gid agentry --home-dir /data --no-create-home --shell /usr/sbin/nologin agentry \
  && mkdir -p /data \
  && chown agentry:agentry /data \
  && chmod 0750 /data
WORKDIR /app
COPY package.json ./
COPY bin ./bin
COPY docs/schemas ./docs/schemas
COPY examples ./examples
COPY deploy/docker/healthcheck.mjs ./healthcheck.mjs
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
# The default project: `agentry init`'s example (workflows hello and welcome, an agent on the mock
# provider). Mount your own over /app/project, or point AGENTRY_PROJECT_DIR elsewhere. It lives
# under /app so that its MCP tool server finds the SDK in /app/node_modules.
RUN ln -s /app/bin/agentry.js /usr/local/bin/agentry \
  && agentry init /app/project >/dev/null \
  && agentry validate /app/project >/dev/null

# Listen on every interface of the container (Agentry's default is loopback); the SQLite store on
# the /data volume. Production (AGENTRY_ENV=production) also wants AGENTRY_TRUSTED_PROXIES or
# native TLS for a non-loopback bind: see docs/operations/container.md.
ENV NODE_ENV=production \
    AGENTRY_HOST=0.0.0.0 \
    AGENTRY_PROJECT_DIR=/app/project \
    AGENTRY_DATABASE_URL=sqlite:/data/agentry.db
VOLUME ["/data"]
# 7700 API (serve, start api), 7701 gateway (start gateway), 7702 probes (start worker|scheduler|gateway).
EXPOSE 7700 7701 7702
USER 10001:10001
# GET /livez on the API port or the probe port, whichever this role serves (AGENTRY_HEALTHCHECK_URL overrides).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.mjs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "agentry"]
CMD ["serve"]

# Last, so that a new revision changes only the image's metadata.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="Agentry" \
      org.opencontainers.image.description="Self-hosted platform that runs AI-agent workflows durably in production" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
