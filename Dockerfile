# The APS worker (and, with another command, the local APS emulator).
#
#   docker build -t adb-aps-temporal:0.1.0 .
#   docker run --rm -e TEMPORAL_ADDRESS=host:7233 -e ALIBABA_CLOUD_ACCESS_KEY_ID ... adb-aps-temporal:0.1.0
#
# Debian (glibc), not Alpine: the Temporal SDK's Rust core ships as a glibc native module.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# ---- build: compile TypeScript and bundle the workflow code once, at image build time ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY . .
# `npm run bundle` writes lib/workflow-bundle.js: the worker loads it instead of running webpack
# at start-up, which saves start-up time and memory in every replica.
RUN npm run build && npm run bundle && test -s lib/workflow-bundle.js
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app

# NODE_OPTIONS caps the V8 heap. Size it to about 75% of the container's memory limit (the Rust
# core, native buffers and thread stacks live outside the heap): 768 MiB for the 1 GiB limit in
# docker-compose.yml. 2 MiB semi-spaces keep the young generation small, as `npm run worker` does.
# Credentials are never set here: they come from the environment at run time.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=768 --max-semi-space-size=2" \
    APS_WORKFLOW_BUNDLE=/app/lib/workflow-bundle.js

# Owned by root and read-only for the process: the worker never writes to its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib

USER node

# Prometheus endpoint, when APS_METRICS_ADDRESS=0.0.0.0:9464.
EXPOSE 9464

CMD ["node", "lib/worker.js"]
