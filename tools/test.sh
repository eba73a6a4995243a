#!/usr/bin/env bash
# The test command (README): Postgres and Redis found or started (tools/services.sh), then
# everything CI checks: formatting, clippy with -D warnings, the dependency policy, all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash tools/services.sh)"

if ! cargo deny --version >/dev/null 2>&1; then
  echo "==> installing cargo-deny (once)" >&2
  cargo install cargo-deny --locked
fi

echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo deny" >&2
# cargo-deny reads the metadata of every platform's dependencies; a build fetches only this
# platform's, so fetch the rest first (a fresh machine has none of them).
cargo fetch --locked >/dev/null
cargo deny --offline check licenses bans sources
echo "==> cargo test" >&2
cargo test --workspace
