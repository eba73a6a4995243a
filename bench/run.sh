#!/usr/bin/env bash
# The one command for BACOWR's benchmarks (bench/README.md): finds or starts Postgres and
# Redis like the test command, builds the release binaries, runs every benchmark with
# repeated runs, and writes bench/RESULTS.md.
#
#   bash bench/run.sh                  # all of P1–P6, 3 runs each (~10 minutes)
#   bash bench/run.sh p2 p6 --runs 5   # some of them, more runs
#   bash bench/run.sh --quick          # the smoke run: tiny sizes, one run, results to /tmp
set -euo pipefail
cd "$(dirname "$0")/.."

# Exports BACOWR_TEST_DATABASE_URL / BACOWR_TEST_REDIS_URL: each run makes a scratch
# database and Redis namespace there, as the tests do, and removes them.
eval "$(bash tools/services.sh)"

echo "==> cargo build --release" >&2
cargo build --release --locked -q -p bacowr-api -p bacowr-worker -p bacowr-bench

target="${CARGO_TARGET_DIR:-target}"
args=("$@")
if [[ " $* " == *" --quick "* && " $* " != *" --out "* ]]; then
  args+=(--out "${TMPDIR:-/tmp}/bacowr-bench-quick.md")
fi
exec "$target/release/bacowr-bench" "${args[@]}"
