#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests and trials, and prints its URL.
# Not for production (trust authentication, no fsync; docs/deployment.md says how to set one up).
# Installs Debian's `postgresql` when its binaries are missing. Idempotent: a server already
# running in the same folder is kept, a folder that holds a cluster is started, never wiped.
#
#   BAROMETRE_TEST_POSTGRES=$(scripts/postgres.sh) cargo test -p barometre-store
#
# Settings (environment): BAROMETRE_PG_PORT (54329), BAROMETRE_PG_DIR (/tmp/barometre-pg).
set -euo pipefail
port=${BAROMETRE_PG_PORT:-54329}
dir=${BAROMETRE_PG_DIR:-/tmp/barometre-pg}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true; }
bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing postgresql (Debian's package)…" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(find_bin)
fi
# PostgreSQL refuses to run as root: as root, a system user of its own owns the data.
run=()
if [ "$(id -u)" = 0 ]; then
  id barometre-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin barometre-pg
  run=(runuser -u barometre-pg --)
fi
if ! "${run[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown barometre-pg "$dir"; fi
    # Loopback only, trust for the local test user; no fsync: a throwaway server for tests.
    "${run[@]}" "$bin/initdb" -D "$dir" -U barometre -A trust --no-sync >"$dir/../barometre-pg-initdb.log" 2>&1 \
      || { cat "$dir/../barometre-pg-initdb.log" >&2; exit 1; }
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$dir" -w -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
fi
echo "postgres://barometre@127.0.0.1:$port/postgres"
