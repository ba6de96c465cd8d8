# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` (the build) needs the sources, copied below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY data ./data
RUN npm run build

# Runtime stage: production dependencies and the compiled code only, run as a non-root user.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    REPORTS_DIR=/data/reports
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds with the dev dependencies; the build comes from the stage above.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY data ./data
RUN mkdir -p /data/reports && chown -R node:node /data
USER node
VOLUME ["/data/reports"]
# Exec form: the process gets SIGTERM directly and shuts the workers down cleanly.
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["worker"]
