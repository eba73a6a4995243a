#!/usr/bin/env bash
# Makes sure the Postgres and Redis the tests (and `bacowr demo`) need are reachable, in this
# order: the URLs you set (DATABASE_URL / REDIS_URL, or BACOWR_TEST_DATABASE_URL /
# BACOWR_TEST_REDIS_URL), else local servers on 127.0.0.1 (started if installed but not
# running), else Docker containers, else it stops with the exact command to install the
# missing piece. Prints the two URLs as `export` lines, so `eval "$(bash tools/services.sh)"`
# hands them to the caller. Messages go to stderr.
set -euo pipefail

say() { printf '%s\n' "$*" >&2; }

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  say "FATAL: $what did not come up"
  exit 1
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

postgres_url="${BACOWR_TEST_DATABASE_URL:-${DATABASE_URL:-}}"
if [[ -n "$postgres_url" ]]; then
  say "Postgres: using $(sed -E 's#(://[^:/@]+:)[^@]*@#\1***@#' <<<"$postgres_url")"
else
  postgres_url="postgres://postgres@127.0.0.1:5432/postgres"
  if tcp_open 127.0.0.1 5432; then
    say "Postgres: running on 127.0.0.1:5432"
  elif command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
    say "Postgres: starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    wait_for Postgres tcp_open 127.0.0.1 5432
  elif docker_ok; then
    say "Postgres: starting a container (bacowr-test-postgres)"
    docker rm -f bacowr-test-postgres >/dev/null 2>&1 || true
    docker run -d --name bacowr-test-postgres -p 127.0.0.1:5432:5432 \
      -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16 >/dev/null
    wait_for Postgres docker exec bacowr-test-postgres pg_isready -U postgres
  else
    say "FATAL: no Postgres. Install and start it, then run the tests again:"
    say "  Debian/Ubuntu: sudo apt-get install -y postgresql && sudo pg_ctlcluster \$(ls /etc/postgresql) main start"
    say "  macOS:         brew install postgresql@16 && brew services start postgresql@16"
    say "  or set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/postgres (a role that may CREATE DATABASE)"
    exit 1
  fi
fi

redis_url="${BACOWR_TEST_REDIS_URL:-${REDIS_URL:-}}"
if [[ -n "$redis_url" ]]; then
  say "Redis: using $(sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#' <<<"$redis_url")"
else
  redis_url="redis://127.0.0.1:6379"
  if tcp_open 127.0.0.1 6379; then
    say "Redis: running on 127.0.0.1:6379"
  elif command -v redis-server >/dev/null 2>&1; then
    say "Redis: starting redis-server"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    if [[ -w /var/lib/redis && -w /var/log/redis ]]; then
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    else
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/bacowr-redis.log"
    fi
    wait_for Redis tcp_open 127.0.0.1 6379
  elif docker_ok; then
    say "Redis: starting a container (bacowr-test-redis)"
    docker rm -f bacowr-test-redis >/dev/null 2>&1 || true
    docker run -d --name bacowr-test-redis -p 127.0.0.1:6379:6379 redis:7 \
      redis-server --save "" --appendonly no >/dev/null
    wait_for Redis tcp_open 127.0.0.1 6379
  else
    say "FATAL: no Redis. Install and start it, then run the tests again:"
    say "  Debian/Ubuntu: sudo apt-get install -y redis-server && redis-server --daemonize yes --save '' --appendonly no"
    say "  macOS:         brew install redis && brew services start redis"
    say "  or set REDIS_URL=redis://HOST:6379"
    exit 1
  fi
fi

printf 'export BACOWR_TEST_DATABASE_URL=%q\n' "$postgres_url"
printf 'export BACOWR_TEST_REDIS_URL=%q\n' "$redis_url"
