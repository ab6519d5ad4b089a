#!/usr/bin/env bash
# Starts a 2-shard ClickHouse cluster on loopback for the tests and trials (issue 13): two server
# processes, each one shard of the cluster `barometre` (its `remote_servers`), and prints the store
# URL that names them (`clickhouse://127.0.0.1:18121/barometre?cluster=barometre&nodes=…`, for
# `--store`). Installs Debian's `clickhouse-server` (18.16) when missing. Idempotent: servers
# already answering are kept. Not for production (no password, data under /tmp).
#
# Settings (environment): BAROMETRE_CH_DIR (/tmp/barometre-ch), BAROMETRE_CH_PORT (18120: shard n
# answers HTTP on PORT+n, native TCP on PORT+10+n, interserver on PORT+20+n).
set -euo pipefail
dir=${BAROMETRE_CH_DIR:-/tmp/barometre-ch}
base=${BAROMETRE_CH_PORT:-18120}
if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
  echo "installing clickhouse-server (Debian's package)…" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
fi
server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
answers() { curl -sf "http://127.0.0.1:$1/?query=SELECT%201" >/dev/null 2>&1; }
shards=""
for n in 1 2; do
  shards="$shards<shard><replica><host>127.0.0.1</host><port>$((base + 10 + n))</port></replica></shard>"
done
for n in 1 2; do
  http=$((base + n))
  if answers "$http"; then
    continue
  fi
  d="$dir/shard$n"
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
  cat >"$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/server.err.log</errorlog><size>10M</size><count>2</count></logger>
    <http_port>$http</http_port>
    <tcp_port>$((base + 10 + n))</tcp_port>
    <interserver_http_port>$((base + 20 + n))</interserver_http_port>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <remote_servers><barometre>$shards</barometre></remote_servers>
    <macros><shard>$n</shard></macros>
</yandex>
XML
  cat >"$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  "$server" --config-file="$d/config.xml" --pid-file="$d/server.pid" --daemon >/dev/null 2>&1 || true
  # Up to a minute: a server with large tables takes a while to load them.
  for _ in $(seq 600); do answers "$http" && break; sleep 0.1; done
  if ! answers "$http"; then
    echo "shard $n did not start:" >&2
    tail -20 "$d/server.err.log" >&2 2>/dev/null || true
    exit 1
  fi
done
echo "clickhouse://127.0.0.1:$((base + 1))/barometre?cluster=barometre&nodes=127.0.0.1:$((base + 2))"
