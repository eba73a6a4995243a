#!/usr/bin/env bash
# The test command (README): Postgres and Redis found or started (tools/services.sh), then
# everything CI checks: formatting, clippy with -D warnings, the dependency policy, all tests,
# and the offline validation of deploy/ (tools/check-deploy.sh).
#
#   bash tools/test.sh              everything, in that order (what `just test` and .ci/run run)
#   bash tools/test.sh STEP         one step, as the GitHub workflow runs them:
#     fmt | clippy | deny | test | openapi | clients | deploy | advisories
# `openapi` is the OpenAPI drift and 3.1 validity checks; `clients` runs a generated Python client
# against a live server (all part of the default run); `advisories` checks the
# RustSec database, which needs the network, so it is not part of the default run.
set -euo pipefail
cd "$(dirname "$0")/.."

services() { eval "$(bash tools/services.sh)"; }

deny_tool() {
  if ! cargo deny --version >/dev/null 2>&1; then
    echo "==> installing cargo-deny (once)" >&2
    cargo install cargo-deny --locked
  fi
}

fmt() {
  echo "==> cargo fmt --check" >&2
  cargo fmt --all -- --check
}

clippy() {
  echo "==> cargo clippy -D warnings" >&2
  cargo clippy --workspace --all-targets -- -D warnings
}

deny() {
  echo "==> cargo deny" >&2
  # cargo-deny reads the metadata of every platform's dependencies; a build fetches only this
  # platform's, so fetch the rest first (a fresh machine has none of them).
  cargo fetch --locked >/dev/null
  cargo deny --offline check licenses bans sources
}

advisories() {
  echo "==> cargo deny check advisories" >&2
  cargo deny check advisories
}

tests() {
  echo "==> cargo test" >&2
  cargo test --workspace
}

openapi() {
  echo "==> OpenAPI drift (openapi/openapi.json against the code)" >&2
  cargo test -p bacowr-api --test api -- --exact openapi::checked_in_openapi_matches_the_code
}

openapi_valid() {
  echo "==> OpenAPI 3.1 validity (tools/openapi-check.sh)" >&2
  bash tools/openapi-check.sh
}

clients() {
  echo "==> clients generated from openapi/openapi.json, against a live server (tools/clients/run.sh)" >&2
  bash tools/clients/run.sh
}

deploy() {
  echo "==> deploy/ validation" >&2
  bash tools/check-deploy.sh
}

case "${1:-all}" in
  all)
    services
    deny_tool
    fmt
    clippy
    deny
    tests
    openapi_valid
    clients
    deploy
    ;;
  fmt) fmt ;;
  clippy) clippy ;;
  deny) deny_tool; deny ;;
  advisories) deny_tool; advisories ;;
  test) services; tests ;;
  openapi) openapi; openapi_valid ;;
  clients) clients ;;
  deploy) deploy ;;
  -h | --help)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    ;;
  *)
    echo "tools/test.sh: unknown step '$1' (fmt, clippy, deny, test, openapi, clients, deploy, advisories; none = all)" >&2
    exit 2
    ;;
esac
