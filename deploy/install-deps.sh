#!/usr/bin/env bash
# Installs what `make run` or `make test` needs and this machine lacks, from Debian's
# packages: the one install script behind both targets and CI.
#
#   install-deps.sh run      ClickHouse (server and client)
#   install-deps.sh cluster  also ZooKeeper and a JRE (the dev ClickHouse cluster, cluster.sh)
#   install-deps.sh test     also the cluster's, docker-compose (compose-check), Chromium and fonts (browser
#                          tests), Node.js and npm (console build check, playwright-core)
#
# A tool already on PATH is left alone. Installing needs root or sudo; without either the
# script names the packages to install and fails.
set -euo pipefail

# Debian puts clickhouse-server in /usr/sbin, which a non-root user's PATH lacks.
PATH="$PATH:/usr/sbin:/sbin"

log() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

# Each entry: the command that must be on PATH (or an absolute path that must exist), then
# the Debian package that brings it.
wants=(clickhouse-server:clickhouse-server clickhouse-client:clickhouse-client)
cluster=(java:default-jre-headless /usr/share/java/zookeeper.jar:zookeeper)
case "${1:-}" in
run) ;;
cluster) wants+=("${cluster[@]}") ;;
test) wants+=("${cluster[@]}" docker-compose:docker-compose chromium:chromium node:nodejs npm:npm) ;;
*) die "usage: $0 run|cluster|test" ;;
esac

# have reports whether a command is on PATH or, for an absolute path, the file exists.
have() {
	if [[ "$1" == /* ]]; then [[ -e "$1" ]]; else command -v "$1" >/dev/null 2>&1; fi
}

missing=()
packages=()
for pair in "${wants[@]}"; do
	bin=${pair%%:*}
	have "$bin" || { missing+=("$bin"); packages+=("${pair#*:}"); }
done
((${#missing[@]} == 0)) && exit 0
# Headless Chromium renders the console's screenshots with these fonts.
[[ " ${packages[*]} " == *" chromium "* ]] && packages+=(fonts-liberation)

sudo=()
if [[ "$(id -u)" != 0 ]]; then
	command -v sudo >/dev/null 2>&1 ||
		die "missing ${missing[*]}; installing needs root or sudo: apt-get install ${packages[*]}"
	sudo=(sudo)
fi
command -v apt-get >/dev/null 2>&1 ||
	die "missing ${missing[*]} and apt-get is not available; install ${packages[*]} by hand"

log "missing ${missing[*]}; installing ${packages[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
for bin in "${missing[@]}"; do
	have "$bin" || die "$bin is still missing after installing"
done
log "installed ${packages[*]}"
