# syntax=docker/dockerfile:1
# The first stage compiles src/ to plain JavaScript (dist/: no TypeScript stripper resident, ~40 MiB less
# memory), the second installs production dependencies only, and the runtime stage copies both.
# `node` is a devDependency (it brings Node 24 to machines with an older one); --ignore-scripts keeps its
# download out, since the base image already is Node 24.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.mjs

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS="--disable-warning=ExperimentalWarning --max-semi-space-size=8"
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root deploy/docker/sluice.yaml /etc/sluice/sluice.yaml
COPY --chown=root:root deploy/docker/policies /etc/sluice/policies
# The code and config belong to root and are read-only for the process; only the state (the CA) and the
# socket directory are writable, and they are volumes, so the container runs with a read-only root.
RUN mkdir -p /var/lib/sluice /run/sluice \
 && chown 1000:1000 /var/lib/sluice /run/sluice \
 && chmod 0700 /var/lib/sluice \
 && chmod 0750 /run/sluice
VOLUME ["/var/lib/sluice", "/run/sluice"]
# uid 1000 is the image's `node` user; numeric so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3128 9090
# Slim images have no curl: ask /healthz with Node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/sluice.js"]
CMD ["start", "--config", "/etc/sluice/sluice.yaml"]
