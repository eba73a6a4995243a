# syntax=docker/dockerfile:1
# The worker image: `bacowr-worker` (runs jobs; one process per container also competes to be
# the fleet's dispatcher) serving /health, /ready and /metrics on :9090.
#
#   docker build -f deploy/worker.Dockerfile -t bacowr-worker .   # from the repository root
#
# Stop it with SIGTERM (the default STOPSIGNAL): it stops taking work and lets in-flight jobs
# finish for worker.shutdown_grace_secs (30 s by default), then releases the rest to the queue.
# Give it longer than that before SIGKILL (compose stop_grace_period, k8s
# terminationGracePeriodSeconds).

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
RUN cargo chef cook --release --locked --recipe-path recipe.json -p bacowr-worker
COPY . .
RUN cargo build --release --locked -p bacowr-worker

FROM debian:bookworm-slim AS runtime
# ca-certificates: the providers' HTTPS APIs, the pages the worker reads, webhooks, Sentry.
# Unpinned on purpose: the slim base is rebuilt for Debian security updates and so are we.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bacowr \
    && useradd --system --uid 10001 --gid bacowr --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin bacowr
COPY --from=builder /src/target/release/bacowr-worker /usr/local/bin/
USER 10001:10001
ENV BACOWR_WORKER__HTTP_LISTEN=0.0.0.0:9090 \
    BACOWR_TELEMETRY__LOG_FORMAT=json
EXPOSE 9090
# `bacowr-worker health` GETs http://127.0.0.1:<port of BACOWR_WORKER__HTTP_LISTEN>/health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["bacowr-worker", "health"]
CMD ["bacowr-worker"]
