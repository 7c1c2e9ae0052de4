#!/usr/bin/env bash
# Runs every Go fuzz target (func FuzzXxx) of the given modules for a while each:
#   fuzz.sh DURATION MODULE_DIR...
# `go test` runs only a target's seeds and committed corpus; this explores beyond them
# and writes any failing input to the package's testdata/fuzz/ to commit as a regression.
set -euo pipefail

fuzztime="$1"
shift
failed=0
for m in "$@"; do
	cd "$m"
	for pkg in $(go list ./...); do
		dir=$(go list -f '{{.Dir}}' "$pkg")
		grep -lqs '^func Fuzz' "$dir"/*_test.go || continue
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
			echo "== fuzz $pkg $target ($fuzztime)"
			go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" || failed=1
		done
	done
done
exit "$failed"
