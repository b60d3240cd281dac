#!/usr/bin/env bash
# Installs what internal/testenv/mmserver needs to run a real Mattermost
# server in the integration tests:
#   - PostgreSQL 15 server binaries (apt), for a private throw-away cluster
#     per test server;
#   - Mattermost Team Edition 11.4.0, built from the Go module proxy and
#     cached OUTSIDE the repository:
#       ${SECTRIAGE_CACHE_DIR:-/var/cache/sectriage-test}/mattermost-11.4.0/
#         mattermost            the server binary
#         i18n/ templates/ fonts/   runtime assets, found next to the binary
# Idempotent: does nothing when both are already there and the binary runs.
# See /work/shared/recipes/mattermost-server/RECIPE.md ("Option B") for why
# the build looks the way it does.
set -euo pipefail

MM_VERSION=11.4.0
# The proxy serves only a few pseudo-versions of these modules and no
# version lists, so the exact pair is pinned. V8 is server commit
# 9e1d4c2072c0 (2026-01-13, Version 11.4.0); PUB is server/public 36 minutes
# later: the monorepo builds server/ against ./public, and the public
# version server/v8's go.mod names is too old to compile against.
V8=v8.0.0-20260113162330-9e1d4c2072c0
PUB=v0.1.22-0.20260113165922-8e4cadbc88ee
MOD=github.com/mattermost/mattermost
PGBIN=/usr/lib/postgresql/15/bin

CACHE=${SECTRIAGE_CACHE_DIR:-/var/cache/sectriage-test}/mattermost-$MM_VERSION
BIN=$CACHE/mattermost

t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

# --- PostgreSQL 15 --------------------------------------------------------
# initdb/postgres run the private clusters; pg_basebackup snapshots a
# migrated database as a template (postgresql-15 and its dependency
# postgresql-client-15).
missing=0
for b in initdb postgres pg_basebackup; do
  [ -x "$PGBIN/$b" ] || missing=1
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "mattermost.sh: PostgreSQL 15 is missing; run as root or: apt-get install postgresql-15" >&2
    exit 1
  fi
  echo "mattermost.sh: installing postgresql-15"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  echo "mattermost.sh: postgresql-15 installed in $(elapsed "$t0")"
fi

# --- Mattermost server ------------------------------------------------------
# `version` may create logs/ or config/ in its working directory, so it runs
# in a scratch directory. The assets check catches an interrupted build.
runs_ok() {
  local scratch out
  scratch=$(mktemp -d)
  out=$(cd "$scratch" && "$BIN" version 2>/dev/null) || true
  rm -rf "$scratch"
  grep -q "$MM_VERSION" <<<"$out"
}
if [ -x "$BIN" ] && [ -f "$CACHE/i18n/en.json" ] && [ -d "$CACHE/templates" ] && runs_ok; then
  echo "mattermost.sh: cached Mattermost $MM_VERSION at $BIN"
  exit 0
fi

command -v go >/dev/null || { echo "mattermost.sh: go is not on PATH" >&2; exit 1; }
echo "mattermost.sh: building Mattermost $MM_VERSION into $CACHE (3-5 minutes on 2 cores with empty Go caches)"
mkdir -p "$CACHE"
WORK=$CACHE/build # throw-away module: the build happens in "dependency mode"
rm -rf "$WORK"
mkdir -p "$WORK"

# The checksum database has no record of these pseudo-versions (404), so
# they skip it; every other dependency is verified against go.sum as usual.
# GOWORK/GOTOOLCHAIN keep a developer's own settings out of this build.
export GONOSUMDB=$MOD GOWORK=off GOTOOLCHAIN=local

t1=$(date +%s)
(cd "$WORK" && go mod download "$MOD/server/v8@$V8" "$MOD/server/public@$PUB")
MODCACHE=$(go env GOMODCACHE)
SRC=$MODCACHE/$MOD/server/v8@$V8
PUBSRC=$MODCACHE/$MOD/server/public@$PUB

# server/v8's own go.mod (it keeps its tablewriter replace), renamed, plus
# the two pinned requirements; go.sum is the union of both modules' sums.
sed 's#^module .*#module example.com/sectriage-mmbuild#' "$SRC/go.mod" >"$WORK/go.mod"
(cd "$WORK" && go mod edit -require="$MOD/server/v8@$V8" -require="$MOD/server/public@$PUB")
cat "$SRC/go.sum" "$PUBSRC/go.sum" | sort -u >"$WORK/go.sum"

# -mod=mod lets go fill in go.sum lines the two files lack; it is exported
# only inside this subshell, never into the caller's environment.
(
  cd "$WORK"
  export GOFLAGS="-mod=mod -buildvcs=false"
  # go list fetches exactly the modules the server's packages import, so
  # download and compile times are reported apart.
  go list -deps "$MOD/server/v8/cmd/mattermost" >/dev/null
  echo "mattermost.sh: modules downloaded in $(elapsed "$t1")"
  t2=$(date +%s)
  go build -o "$WORK/mattermost" "$MOD/server/v8/cmd/mattermost"
  echo "mattermost.sh: go build took $(elapsed "$t2")"
)

# The server looks for i18n/, templates/ and fonts/ relative to its working
# directory and to its binary. Copies next to the binary keep working after
# `go clean -modcache` and whatever directory a test runs it from.
for d in i18n templates fonts; do
  rm -rf "${CACHE:?}/$d"
  cp -r "$SRC/$d" "$CACHE/$d"
  chmod -R u+w "$CACHE/$d"
done
# Migrated database templates (made by mmserver) belong to the old binary.
rm -rf "$CACHE"/pgtemplate-*
# The binary goes in last, so its presence means the cache is complete.
mv "$WORK/mattermost" "$BIN.new"
mv -f "$BIN.new" "$BIN"
rm -rf "$WORK"

runs_ok || { echo "mattermost.sh: the built binary does not report version $MM_VERSION" >&2; exit 1; }
echo "mattermost.sh: built $BIN ($(du -h "$BIN" | cut -f1)) in $(elapsed "$t0")"
