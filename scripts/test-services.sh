#!/usr/bin/env bash
# Starts or stops the throwaway PostgreSQL and Redis that `make test` runs against, on loopback only.
# Usage: scripts/test-services.sh start|stop   (state under var/test/, ports from the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/var/test"
# Below the ephemeral range (32768-60999 on Linux), so no client socket of a test can hold them.
pg_port="${HOTLINE_TEST_PG_PORT:-25432}"
redis_port="${HOTLINE_TEST_REDIS_PORT:-26379}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

as_pg() {
  # PostgreSQL refuses to run as root; CI runs as root, developers usually do not.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  stop
  # A fresh cluster every run: nothing from an earlier run can make a test pass or fail.
  rm -rf "$root"
  mkdir -p "$root"
  if [ "$(id -u)" = 0 ]; then chown postgres "$root"; fi
  as_pg "$pg_bin/initdb" -D "$root/pg" -U hotline --auth=trust -E UTF8 --locale=C.UTF-8 >"$root/initdb.log"
  as_pg "$pg_bin/pg_ctl" -D "$root/pg" -l "$root/pg.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $root/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize yes --pidfile "$root/redis.pid" --logfile "$root/redis.log" --dir "$root"
  echo "test services up: postgresql://hotline@127.0.0.1:$pg_port/postgres redis://127.0.0.1:$redis_port/0"
}

stop() {
  if [ -s "$root/pg/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$root/pg" -m fast -w stop >/dev/null || echo "PostgreSQL was not running" >&2
  fi
  if [ -s "$root/redis.pid" ]; then
    kill "$(cat "$root/redis.pid")" 2>/dev/null || echo "redis-server was not running" >&2
    rm -f "$root/redis.pid"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
