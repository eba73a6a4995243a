# syntax=docker/dockerfile:1
# The provider simulator (compose profile `sim`): OpenAI at /v1/chat/completions, Anthropic at
# /v1/messages, Gemini at /v1beta/models/...:generateContent, on :7777; a fixture web site for
# the worker's page fetches on :7778. Deterministic placeholder articles, no real model.
#
#   docker build -f deploy/llm-sim.Dockerfile -t bacowr-llm-sim .   # from the repository root

FROM rust:1.95-bookworm AS chef
ARG CARGO_CHEF_VERSION=0.1.78
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json -p llm-sim
COPY . .
RUN cargo build --release --locked -p llm-sim --bin llm-sim

FROM debian:bookworm-slim AS runtime
RUN groupadd --system --gid 10001 sim \
    && useradd --system --uid 10001 --gid sim --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin sim
COPY --from=builder /src/target/release/llm-sim /usr/local/bin/
USER 10001:10001
EXPOSE 7777 7778
# No HTTP client in the slim image and llm-sim has no health subcommand: a TCP connect is
# what "up" means for a simulator.
HEALTHCHECK --interval=5s --timeout=2s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7777"]
CMD ["llm-sim", "--listen", "0.0.0.0:7777", "--site", "0.0.0.0:7778"]
