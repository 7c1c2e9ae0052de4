#!/usr/bin/env bash
# Writes the secrets docker-compose.yml refuses to start without into .env at the
# repository root (or the file given), readable by you alone: a random password for
# ClickHouse's tokenmeter user and one for Grafana's admin. Values already there are
# kept, so running it again changes nothing; delete a line to get a new value.
#
#   deploy/compose-env.sh [file]
set -euo pipefail
umask 077

env_file=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.env"}
touch "$env_file"
chmod 600 "$env_file"
# Append below a last line that lacks its newline, not onto it.
if [ -s "$env_file" ] && [ -n "$(tail -c 1 "$env_file")" ]; then
	echo >>"$env_file"
fi

# 32 bytes from the kernel's CSPRNG as 64 hex digits: no quoting issues in .env or XML.
random() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

for name in TOKENMETER_CLICKHOUSE_PASSWORD GRAFANA_ADMIN_PASSWORD; do
	if grep -q "^${name}=." "$env_file"; then
		printf 'compose-env: %s kept in %s\n' "$name" "$env_file"
	else
		sed -i "/^${name}=/d" "$env_file"
		printf '%s=%s\n' "$name" "$(random)" >>"$env_file"
		printf 'compose-env: %s written to %s\n' "$name" "$env_file"
	fi
done
