#!/usr/bin/env bash
# The dev/CI ClickHouse cluster: one ZooKeeper and 2 shards x 2 replicas of
# clickhouse-server on loopback, the cluster `tokenmeter` of reporting's
# -clickhouse-cluster (see deploy/README.md).
#
#   cluster.sh start              start what is not running (idempotent), wait until all answer
#   cluster.sh stop               stop every node and ZooKeeper; keeps the data
#   cluster.sh stop-node S R      stop shard S replica R (tests: a dead replica)
#   cluster.sh kill-node S R      SIGKILL shard S replica R by its pid file, wait until it is gone (fault tests)
#   cluster.sh start-node S R     start shard S replica R again on its data, wait until it answers
#
# start installs what is missing through deploy/install-deps.sh unless TOKENMETER_NO_INSTALL=1
# (the tests' testkit.ClickHouseCluster sets it: a test never installs packages).
# Ports (fixed, loopback): ZooKeeper 19181; shard S replica R: native 191SR, HTTP 181SR,
# interserver 192SR (19111, 19112, 19121, 19122 ...). State in
# ${TOKENMETER_STATE_DIR:-<repo>/.local}/clickhouse-cluster/. ZooKeeper is Debian's
# `zookeeper` package (and a JRE), installed by deploy/install-deps.sh when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
state_root="${TOKENMETER_STATE_DIR:-$repo/.local}"
wait_seconds="${TOKENMETER_CLICKHOUSE_WAIT_SECONDS:-90}"
zk_port=19181
nodes=(1:1 1:2 2:1 2:2)
PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'clickhouse-cluster: %s\n' "$*"; }
die() { printf 'clickhouse-cluster: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$state_root"
state="$(cd "$state_root" && pwd)/clickhouse-cluster"
case "$state" in
*'&'* | *'<'* | *'>'*) die "state dir must not contain XML special characters: $state" ;;
esac

# alive prints the pid in pid file $1 if that process is alive and its cmdline holds $2.
alive() {
	[[ -s "$1" ]] || return 1
	local pid
	pid="$(<"$1")"
	[[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null || return 1
	printf '%s\n' "$pid"
}

# zk_answers is true once ZooKeeper serves requests. ruok answers imok while
# it still loads its data after a restart, and a node attaching replicated
# tables then exits on a refused handshake; srvr names the mode only once
# ZooKeeper serves.
zk_answers() {
	local reply
	reply="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf srvr >&3; cat <&3' _ "$zk_port" 2>/dev/null)" || return 1
	[[ "$reply" == *"Mode: "* ]]
}

node_answers() {
	timeout 10 clickhouse-client --host 127.0.0.1 --port "$1" -q 'SELECT 1' >/dev/null 2>&1
}

# node_up is true once shard $1 replica $2 answers, and fails the script at
# once, with the node's log, if its server exited instead.
node_up() {
	node_answers "191$1$2" && return 0
	alive "$state/s$1r$2/clickhouse.pid" clickhouse >/dev/null && return 1
	tail -n 30 "$state/s$1r$2/log/clickhouse-server.err.log" >&2 || true
	die "shard $1 replica $2 exited while starting (its log is above)"
}

# await runs "$@" until it succeeds or wait_seconds pass.
await() {
	local deadline=$((SECONDS + wait_seconds))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

start_zk() {
	local dir="$state/zookeeper"
	zk_answers && return 0
	alive "$dir/zookeeper.pid" zookeeper >/dev/null || {
		mkdir -p "$dir/data"
		cat >"$dir/zoo.cfg" <<-CFG
			tickTime=2000
			dataDir=$dir/data
			clientPortAddress=127.0.0.1
			clientPort=$zk_port
			admin.enableServer=false
			4lw.commands.whitelist=srvr
			autopurge.purgeInterval=1
		CFG
		log "starting zookeeper on 127.0.0.1:$zk_port"
		setsid nohup java -Xmx256m -cp "/usr/share/java/zookeeper.jar" \
			org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
			</dev/null >>"$dir/stdout.log" 2>&1 &
		printf '%s\n' "$!" >"$dir/zookeeper.pid"
	}
	await zk_answers || { tail -n 30 "$dir/stdout.log" >&2; die "zookeeper did not answer on 127.0.0.1:$zk_port"; }
}

# render replaces @KEY@ in template $1 with the KEY=value pairs that follow.
render() {
	local out
	out="$(<"$1")"
	shift
	for kv in "$@"; do
		out="${out//@${kv%%=*}@/"${kv#*=}"}"
	done
	printf '%s\n' "$out"
}

start_node() {
	local s="$1" r="$2" dir="$state/s$1r$2"
	local tcp="191$s$r" http="181$s$r" inter="192$s$r"
	node_answers "$tcp" && return 0
	alive "$dir/clickhouse.pid" clickhouse >/dev/null || {
		mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log,config.d}
		render "$here/config.xml.tmpl" "STATE_DIR=$dir" "TCP_PORT=$tcp" "HTTP_PORT=$http" >"$dir/config.xml"
		render "$here/cluster.xml.tmpl" "INTERSERVER_PORT=$inter" "SHARD=$s" "REPLICA=$r" "ZK_PORT=$zk_port" \
			>"$dir/config.d/cluster.xml"
		cp -f "$here/users.xml" "$dir/users.xml"
		log "starting shard $s replica $r on 127.0.0.1:$tcp"
		setsid nohup clickhouse-server --config-file="$dir/config.xml" \
			</dev/null >>"$dir/log/stdout.log" 2>&1 &
		printf '%s\n' "$!" >"$dir/clickhouse.pid"
	}
}

stop_pid() {
	local pid_file="$1" what="$2" pid
	pid="$(alive "$pid_file" "$what")" || { rm -f "$pid_file"; return 0; }
	kill -TERM "$pid"
	for _ in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; return 0; }
		sleep 0.25
	done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pid_file"
}

# gone is true once pid $1 is no longer running: exited, or a zombie nobody reaps.
gone() {
	local state
	state="$(sed -E 's/^.*\) ([A-Z]).*$/\1/' "/proc/$1/stat" 2>/dev/null)" || return 0
	[[ -z "$state" || "$state" == Z || "$state" == X ]]
}

# refuses is true once nothing listens on loopback port $1.
refuses() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

kill_node() {
	local pid_file="$state/s$1r$2/clickhouse.pid" pid
	pid="$(alive "$pid_file" clickhouse)" || die "shard $1 replica $2 is not running from $pid_file"
	kill -KILL "$pid"
	await gone "$pid" || die "shard $1 replica $2 (pid $pid) still runs after SIGKILL"
	# The main thread is a zombie while the others still exit holding the
	# sockets: a client would still connect, and be reset.
	await refuses "191$1$2" || die "shard $1 replica $2 (pid $pid) still listens after SIGKILL"
	rm -f "$pid_file"
}

node_args() {
	[[ "${1:-}" =~ ^[12]$ && "${2:-}" =~ ^[12]$ ]] || die "usage: $0 stop-node|kill-node|start-node SHARD(1|2) REPLICA(1|2)"
}

case "${1:-}" in
start)
	if ! command -v clickhouse-server >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1 ||
		[[ ! -f /usr/share/java/zookeeper.jar ]]; then
		[[ "${TOKENMETER_NO_INSTALL:-}" == 1 ]] &&
			die "clickhouse-server, java or zookeeper missing; install them with deploy/install-deps.sh cluster"
		"$repo/deploy/install-deps.sh" cluster
	fi
	start_zk
	for n in "${nodes[@]}"; do start_node "${n%%:*}" "${n#*:}"; done
	for n in "${nodes[@]}"; do
		s="${n%%:*}" r="${n#*:}"
		await node_up "$s" "$r" || {
			tail -n 30 "$state/s${s}r$r/log/clickhouse-server.err.log" >&2 || true
			die "shard $s replica $r did not answer on 127.0.0.1:191$s$r"
		}
	done
	log "ready: zookeeper 127.0.0.1:$zk_port; shards 127.0.0.1:19111,19112 and 127.0.0.1:19121,19122"
	;;
stop)
	for n in "${nodes[@]}"; do stop_pid "$state/s${n%%:*}r${n#*:}/clickhouse.pid" clickhouse; done
	stop_pid "$state/zookeeper/zookeeper.pid" zookeeper
	log "stopped"
	;;
stop-node)
	node_args "${2:-}" "${3:-}"
	stop_pid "$state/s$2r$3/clickhouse.pid" clickhouse
	await refuses "191$2$3" || die "shard $2 replica $3 still listens after it stopped"
	log "stopped shard $2 replica $3"
	;;
kill-node)
	node_args "${2:-}" "${3:-}"
	kill_node "$2" "$3"
	log "killed shard $2 replica $3"
	;;
start-node)
	node_args "${2:-}" "${3:-}"
	start_node "$2" "$3"
	await node_up "$2" "$3" || {
		tail -n 30 "$state/s$2r$3/log/clickhouse-server.err.log" >&2 || true
		die "shard $2 replica $3 did not answer on 127.0.0.1:191$2$3"
	}
	log "started shard $2 replica $3"
	;;
*) die "usage: $0 start|stop|stop-node S R|kill-node S R|start-node S R" ;;
esac
