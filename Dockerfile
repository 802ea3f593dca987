# The gateway image: the `idemq` command, compiled, with production dependencies only.
#   docker build -t idemq .                           the gateway (the default target): `idemq api`
#   docker run … idemq idemq worker | idemq migrate   the other processes, by command
#   docker build --target ledger -t idemq-ledger .    the ledger demo, run from its sources
# docs/container.md: the routes file, the environment, docker compose.

# Build: compiles src/, workers/ and bin/ to dist/ (`npm run build`) with the dev dependencies.
FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY clients/typescript/package.json clients/typescript/
COPY scripts/lint/package.json scripts/lint/
# no install scripts: the `node` devDependency is the toolchain for machines without Node 26, and
# this image has it
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts scripts/
COPY src ./src
COPY workers ./workers
COPY bin ./bin
RUN node scripts/build.ts

# What both targets share: production dependencies at the versions of package-lock.json, and the
# package's manifest, which the `idemq` command reads (its version, its own root).
FROM node:26-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
# a container is reached from outside its own loopback; the admin server stays on 127.0.0.1 (ADMIN_HOST)
ENV HOST=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
EXPOSE 3000

# The ledger demo (`--target ledger`): the example app from its TypeScript sources, as `npm start`
# runs it; docker-compose.yml's `ledger` profile.
FROM runtime AS ledger
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY examples/ledger ./examples/ledger
USER node
CMD ["node", "examples/ledger/api.ts"]

# The gateway (the default target, being the last): `idemq api` in front of your own service, whose
# routes are read from a file mounted at FORWARD_ROUTES_FILE; `idemq worker` and `idemq migrate` by
# command. An app of your own (operations, migrations) builds its image FROM this one and runs
# `idemq api --app <module>`.
FROM runtime AS gateway
COPY --from=build /src/dist ./dist
RUN chmod 0755 dist/bin/idemq.js && ln -s /app/dist/bin/idemq.js /usr/local/bin/idemq
ENV FORWARD_ROUTES_FILE=/etc/idemq/routes.json
USER node
CMD ["idemq", "api"]
