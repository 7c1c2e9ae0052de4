#!/usr/bin/env bash
# Writes the secrets docker-compose.yml refuses to start without into .env at the
# repository root (or the file given), readable by you alone: a random password for
# ClickHouse's tokenmeter user and one for Grafana's admin, and the key of every pseudonym. Values already there are
# kept, so running it again changes nothing; delete a line to get a new value.
# It also makes the NATS nkey seed of each identity in .local/compose-nats/ beside
# that file (kept if there; needs Go) and writes their public keys, which the NATS
# server's auth.conf reads, into the same file.
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

# The services' images run as another user than yours, so the seeds are 0644
# inside a 0700 directory (compose bind-mounts each file as it is).
seeds="$(cd "$(dirname "$env_file")" && pwd)/.local/compose-nats"
nkeys=$(cd "$(dirname "$0")/.." && go run ./tools/cmd/natsauth -readable seeds "$seeds")
while IFS='=' read -r name value; do
	sed -i "/^${name}=/d" "$env_file"
	printf '%s=%s\n' "$name" "$value" >>"$env_file"
done <<<"$nkeys"
printf 'compose-env: NATS seeds in %s, their public keys in %s\n' "$seeds" "$env_file"

for name in TOKENMETER_CLICKHOUSE_PASSWORD GRAFANA_ADMIN_PASSWORD TOKENMETER_USER_HASH_KEY; do
	if grep -q "^${name}=." "$env_file"; then
		printf 'compose-env: %s kept in %s\n' "$name" "$env_file"
	else
		sed -i "/^${name}=/d" "$env_file"
		printf '%s=%s\n' "$name" "$(random)" >>"$env_file"
		printf 'compose-env: %s written to %s\n' "$name" "$env_file"
	fi
done
