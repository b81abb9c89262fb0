# The service as one compiled executable on a distroless glibc base, running as non-root.
# The build installs only production dependencies (nodemailer, swagger-ui-dist) for the bundler to inline;
# the runtime image gets the executable alone, no node_modules and no Bun.
FROM oven/bun:1.4.5 AS build
WORKDIR /src
# Dependencies first, so their layer is reused while only src changes. Bun reads npm's package-lock.json;
# --frozen-lockfile fails if it disagrees with package.json, and --ignore-scripts keeps install scripts
# (swagger-ui-dist's @scarf/scarf postinstall phones home) out of the build.
COPY package.json package-lock.json bunfig.toml ./
RUN bun install --production --frozen-lockfile --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
# The same build a developer runs (`npm run build`): one executable in dist/.
RUN bun run build \
 && mkdir -p /out/data /out/static/profile && mv dist/profile-service /out/profile-service

FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build --chown=nonroot:nonroot /out/profile-service /app/profile-service
COPY --from=build --chown=nonroot:nonroot /out/data /data
COPY --from=build --chown=nonroot:nonroot /out/static /app/static
# Production needs JWT_SECRET (at least 32 bytes) from the environment; the service refuses to start without it.
# Run it with `--ulimit nofile=65536:65536` (README): each connection holds a file descriptor.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:///data/app.db \
    DATA_DIR=/data \
    STATIC_DIR=/app/static
USER nonroot
EXPOSE 8000
VOLUME ["/data", "/app/static"]
# The binary asks its own /healthz: distroless has no shell and no curl.
HEALTHCHECK --interval=10s --timeout=4s --start-period=5s --retries=3 CMD ["/app/profile-service", "healthcheck"]
ENTRYPOINT ["/app/profile-service"]
