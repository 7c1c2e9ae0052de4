#!/usr/bin/env bash
# Checks that keep the project's shape, run by `make lint`:
#   - no service module imports another service, and libs import no service;
#   - the pure domain cores import no NATS, ClickHouse or HTTP gateway;
#   - the generated proto code is what `make proto` makes from the sources;
#   - no hand-written production Go file is over 500 lines (functions: funlen).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

prefix=github.com/tokenmeter/tokenmeter/services/
status=0
for dir in libs libs/testkit proto services/*/; do
	dir=${dir%/}
	own=""
	[[ $dir == services/* ]] && own="$prefix${dir#services/}"
	bad=$(cd "$dir" && go list -deps -test ./... | awk -v p="$prefix" -v own="$own" '{
		path = $1; sub(/_test$/, "", path); sub(/\.test$/, "", path)
		if (index(path, p) == 1 && !(own != "" && (path == own || index(path, own "/") == 1))) print path
	}' | sort -u)
	if [[ -n $bad ]]; then
		echo "lint: $dir imports another service (services talk over gRPC and the event log):"
		echo "$bad" | sed 's/^/  /' | head -5
		status=1
	fi
done

# The domain cores: driven by events and a clock, tested without servers.
pure=(services/ledger/internal/pool services/alerting/internal/rules services/reporting/internal/advice
	libs/forecast services/reporting/internal/sessions)
for core in "${pure[@]}"; do
	bad=$(go list -deps "./$core" |
		grep -E "^(github.com/nats-io/|github.com/ClickHouse/|github.com/grpc-ecosystem/)" || true)
	if [[ -n $bad ]]; then
		echo "lint: $core is a pure core but imports:"
		echo "$bad" | sed 's/^/  /' | head -5
		status=1
	fi
done

long=$(git ls-files '*.go' ':!:*_test.go' ':!:proto/gen/**' | while read -r f; do
	head -1 "$f" | grep -q '^// Code generated' && continue
	n=$(wc -l <"$f")
	((n > 500)) && echo "  $f: $n lines"
done || true)
if [[ -n $long ]]; then
	echo "lint: files over 500 lines (split them along their seams):"
	echo "$long"
	status=1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
(cd proto && go tool buf generate -o "$out")
if ! diff -r "$out/gen" proto/gen >/dev/null; then
	echo "lint: proto/gen differs from what its sources generate: run 'make proto' and commit proto/gen"
	status=1
fi
exit $status
