#!/usr/bin/env bash
# Runs the whole sectriage test suite on a fresh Debian 12 machine: installs the
# real servers the integration tests start (when run as root), builds and caches
# a Mattermost server, then vet, gofmt, tests and short fuzz runs.
#
#   scripts/test.sh            # everything
#   SKIP_INSTALL=1 scripts/test.sh   # do not touch apt
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  for f in scripts/deps/*.sh; do
    [ -e "$f" ] || continue
    echo "== deps: $f"
    bash "$f"
  done
fi

echo "== go vet"
go vet ./...
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt wants to change:"; echo "$unformatted"; exit 1
fi

echo "== go test"
go test -count=1 -timeout 20m ./...

if [ -x scripts/fuzz.sh ]; then
  echo "== fuzz"
  scripts/fuzz.sh
fi
echo "== all tests passed"
