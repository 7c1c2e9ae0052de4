#!/usr/bin/env bash
# Stops the ClickHouse server started by start.sh (by its pid file); keeps the data.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# --cluster: the 2-shard x 2-replica cluster with ZooKeeper instead (cluster.sh).
[[ "${1:-}" == --cluster ]] && exec "$here/cluster.sh" stop
repo="$(cd "$here/../../.." && pwd)"
state_dir="${TOKENMETER_STATE_DIR:-$repo/.local}/clickhouse"
pid_file="$state_dir/clickhouse.pid"

log() { printf 'clickhouse: %s\n' "$*"; }

if [[ ! -s "$pid_file" ]]; then
	log "not running (no $pid_file)"
	exit 0
fi
pid="$(<"$pid_file")"
if ! [[ "$pid" =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null ||
	! grep -q clickhouse "/proc/$pid/cmdline" 2>/dev/null; then
	log "not running (stale pid file removed)"
	rm -f "$pid_file"
	exit 0
fi

log "stopping pid $pid"
kill -TERM "$pid"
for _ in $(seq 1 120); do
	if ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$pid_file"
		log "stopped"
		exit 0
	fi
	sleep 0.25
done
log "pid $pid still alive after 30s; sending SIGKILL"
kill -KILL "$pid" 2>/dev/null || true
for _ in $(seq 1 40); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.25
done
rm -f "$pid_file"
log "killed"
