# BACOWR everyday recipes. `just --list` shows them.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Local defaults: Postgres and Redis on 127.0.0.1, the provider simulator on :7777.
export BACOWR_DATABASE__URL := env_var_or_default("BACOWR_DATABASE__URL", "postgres://postgres@127.0.0.1:5432/bacowr?sslmode=disable")
export BACOWR_TELEMETRY__LOG_FORMAT := env_var_or_default("BACOWR_TELEMETRY__LOG_FORMAT", "pretty")

default:
    @just --list

# Everything CI checks: Postgres and Redis found or started, formatting, lints, dependency
# policy, all tests (incl. OpenAPI drift). The same as `bash tools/test.sh`.
test:
    bash tools/test.sh

# Create the local database (if missing) and apply all migrations.
setup-db:
    psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'bacowr'" | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE bacowr"
    cargo run -q -p bacowr-migrations --bin bacowr-migrate -- up

# Migrations: up (default), down [N], status, fresh.
migrate *args:
    cargo run -q -p bacowr-migrations --bin bacowr-migrate -- {{args}}

# Create an organization and print its first API key (shown once).
create-org name:
    cargo run -q -p bacowr-api -- create-org "{{name}}"

# The HTTP API on 127.0.0.1:8080.
run-api:
    cargo run -p bacowr-api -- serve

# A worker talking to `just sim`, allowed to fetch its loopback fixture site (production isn't).
run-worker:
    BACOWR_PROVIDER__BASE_URL="${BACOWR_PROVIDER__BASE_URL:-http://127.0.0.1:7777/v1}" \
    BACOWR_PROVIDER__API_KEY="${BACOWR_PROVIDER__API_KEY:-sim-key}" \
    BACOWR_PROVIDER__NAME="${BACOWR_PROVIDER__NAME:-llm-sim}" \
    BACOWR_CONTEXT__ALLOW_HOSTS="${BACOWR_CONTEXT__ALLOW_HOSTS:-[\"127.0.0.0/8\"]}" \
    cargo run -p bacowr-worker

# The provider simulator (OpenAI chat completions) on :7777 and its fixture site on :7778.
sim *args:
    cargo run -p llm-sim -- --listen 127.0.0.1:7777 --site 127.0.0.1:7778 {{args}}

# Regenerate the checked-in OpenAPI document from the code.
openapi:
    cargo run -q -p bacowr-api -- openapi > openapi/openapi.json
