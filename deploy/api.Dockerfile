# syntax=docker/dockerfile:1
# The API image: `bacowr-api` (serve, health, create-org, openapi) and `bacowr-migrate`, which
# runs once per release before the new API and workers start (compose `migrate`, k8s Job).
#
#   docker build -f deploy/api.Dockerfile -t bacowr-api .      # from the repository root
#
# Dependencies are compiled in their own layer (cargo-chef), so a change to our sources
# rebuilds only the workspace crates. All workspace members must be in the context for cargo
# to resolve the workspace, even the ones this image does not build.

FROM rust:1.95-bookworm AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Only the dependency graph: cached until Cargo.toml/Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json \
    -p bacowr-api -p bacowr-migrations
COPY . .
RUN cargo build --release --locked -p bacowr-api -p bacowr-migrations

FROM debian:bookworm-slim AS runtime
# ca-certificates: TLS to managed Postgres/Redis, Sentry and the OTLP endpoint. Unpinned on
# purpose: the slim base is rebuilt for Debian security updates and so are we.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bacowr \
    && useradd --system --uid 10001 --gid bacowr --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin bacowr
COPY --from=builder /src/target/release/bacowr-api /src/target/release/bacowr-migrate \
     /usr/local/bin/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
ENV BACOWR_API__LISTEN=0.0.0.0:8080 \
    BACOWR_TELEMETRY__LOG_FORMAT=json
EXPOSE 8080
# `bacowr-api health` GETs http://127.0.0.1:<port of BACOWR_API__LISTEN>/health: exit 0 or 1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["bacowr-api", "health"]
CMD ["bacowr-api", "serve"]
