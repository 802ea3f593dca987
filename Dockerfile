# One image for both process types; docker-compose.yml picks the command.
FROM node:26-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# a container is reached from outside its own loopback; the admin server stays on 127.0.0.1 (ADMIN_HOST)
ENV HOST=0.0.0.0
COPY package.json package-lock.json ./
# the `node` devDependency is the toolchain for machines without Node 26; this image has it
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
# the ledger demo, which the image runs; an app built on idemq copies its own folder instead
COPY examples/ledger ./examples/ledger
USER node
EXPOSE 3000
CMD ["node", "examples/ledger/api.ts"]
