#!/usr/bin/env bash
# Runs every Fuzz target in the module for the given time each (default 3s).
set -euo pipefail
fuzztime=${1:-3s}
cd "$(dirname "$0")/.."
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //' | while read -r target; do
    echo "fuzz ${pkg} ${target} (${fuzztime})"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${fuzztime}" "${pkg}" >/tmp/iam-fuzz.log 2>&1 || { cat /tmp/iam-fuzz.log; exit 1; }
  done
done
