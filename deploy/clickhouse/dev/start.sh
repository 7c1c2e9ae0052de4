#!/usr/bin/env bash
# Starts the project-local ClickHouse used by `make run`, `make test` and CI.
#
# Ensures a ClickHouse server answers on 127.0.0.1 at the native TCP port
# ${TOKENMETER_CLICKHOUSE_TCP_PORT:-19000} (HTTP ${TOKENMETER_CLICKHOUSE_HTTP_PORT:-18123}).
# If one already answers it does nothing. Otherwise it installs Debian's
# clickhouse-server/clickhouse-client when missing, writes a minimal config under
# ${TOKENMETER_STATE_DIR:-<repo>/.local}/clickhouse/ from config.xml.tmpl and users.xml,
# starts the server detached and waits until it answers. Installing goes through
# deploy/install-deps.sh, the project's one install script. Data persists across runs in
# .local/clickhouse/data/. Stop it with stop.sh next to this file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# --cluster: the 2-shard x 2-replica cluster with ZooKeeper instead (cluster.sh).
[[ "${1:-}" == --cluster ]] && exec "$here/cluster.sh" start
repo="$(cd "$here/../../.." && pwd)"

tcp_port="${TOKENMETER_CLICKHOUSE_TCP_PORT:-19000}"
http_port="${TOKENMETER_CLICKHOUSE_HTTP_PORT:-18123}"
state_root="${TOKENMETER_STATE_DIR:-$repo/.local}"
wait_seconds="${TOKENMETER_CLICKHOUSE_WAIT_SECONDS:-60}"

# Debian puts clickhouse-server in /usr/sbin, which a non-root user's PATH lacks.
PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'clickhouse: %s\n' "$*"; }
die() { printf 'clickhouse: error: %s\n' "$*" >&2; exit 1; }

for p in "$tcp_port" "$http_port" "$wait_seconds"; do
	[[ "$p" =~ ^[0-9]+$ ]] || die "not a number: '$p'"
done

mkdir -p "$state_root"
state_dir="$(cd "$state_root" && pwd)/clickhouse"
case "$state_dir" in
*'&'* | *'<'* | *'>'*) die "state dir must not contain XML special characters: $state_dir" ;;
esac
pid_file="$state_dir/clickhouse.pid"
config_file="$state_dir/config.xml"
log_dir="$state_dir/log"

# answers reports whether a ClickHouse server answers on the native TCP port, or, when
# clickhouse-client is not installed, on the HTTP port's /ping.
answers() {
	if command -v clickhouse-client >/dev/null 2>&1; then
		timeout 10 clickhouse-client --host 127.0.0.1 --port "$tcp_port" -q 'SELECT 1' >/dev/null 2>&1
		return
	fi
	local reply
	reply="$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3
		cat <&3' _ "$http_port" 2>/dev/null)" || return 1
	[[ "$reply" == *"Ok."* ]]
}

# running_pid prints the pid from the pid file if that process is a live clickhouse.
running_pid() {
	[[ -s "$pid_file" ]] || return 1
	local pid
	pid="$(<"$pid_file")"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	grep -q clickhouse "/proc/$pid/cmdline" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

show_logs() {
	local f
	for f in "$log_dir/clickhouse-server.err.log" "$log_dir/stdout.log"; do
		if [[ -s "$f" ]]; then
			printf '\n--- tail of %s ---\n' "$f" >&2
			tail -n 40 "$f" >&2
		fi
	done
}

install_clickhouse() {
	"$repo/deploy/install-deps.sh" run
}

write_config() {
	mkdir -p "$state_dir"/{data,tmp,user_files,format_schemas,log}
	local tmpl
	tmpl="$(<"$here/config.xml.tmpl")"
	# Quoted replacements: bash 5.2 would otherwise expand '&' in them.
	tmpl="${tmpl//@STATE_DIR@/"$state_dir"}"
	tmpl="${tmpl//@TCP_PORT@/"$tcp_port"}"
	tmpl="${tmpl//@HTTP_PORT@/"$http_port"}"
	printf '%s\n' "$tmpl" >"$config_file.new"
	mv -f "$config_file.new" "$config_file"
	cp -f "$here/users.xml" "$state_dir/users.xml"
}

wait_ready() {
	local pid="$1" deadline=$((SECONDS + wait_seconds))
	while ((SECONDS < deadline)); do
		if answers; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "server process $pid exited during startup"
			return 1
		fi
		sleep 0.5
	done
	log "server did not answer on 127.0.0.1:$tcp_port within ${wait_seconds}s"
	return 1
}

if answers; then
	log "already running on 127.0.0.1:$tcp_port (http $http_port)"
	exit 0
fi

if pid="$(running_pid)"; then
	# Started by an earlier run and still coming up: wait for it instead of racing it.
	log "server pid $pid from $pid_file is starting; waiting"
	if wait_ready "$pid"; then
		log "ready on 127.0.0.1:$tcp_port (http $http_port), pid $pid"
		exit 0
	fi
	show_logs
	exit 1
fi
rm -f "$pid_file"

if ! command -v clickhouse-server >/dev/null 2>&1 || ! command -v clickhouse-client >/dev/null 2>&1; then
	install_clickhouse
	command -v clickhouse-server >/dev/null 2>&1 || die "clickhouse-server still not on PATH after installing"
fi

write_config
log "starting clickhouse-server on 127.0.0.1:$tcp_port (http $http_port), state in $state_dir"
# No job control in a script, so the background child is not a process group leader and
# setsid execs the server in place: $! is the server's pid.
setsid nohup clickhouse-server --config-file="$config_file" \
	</dev/null >>"$log_dir/stdout.log" 2>&1 &
pid=$!
printf '%s\n' "$pid" >"$pid_file"

if wait_ready "$pid"; then
	log "ready on 127.0.0.1:$tcp_port (http $http_port), pid $pid"
	exit 0
fi
show_logs
if kill -0 "$pid" 2>/dev/null; then
	kill "$pid" 2>/dev/null || true
fi
rm -f "$pid_file"
die "clickhouse-server failed to start; logs are in $log_dir"
