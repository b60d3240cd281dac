#!/usr/bin/env bash
# Tools the tests use besides the servers: systemd-analyze checks the shipped unit.
set -euo pipefail
command -v systemd-analyze >/dev/null && exit 0
[ "$(id -u)" = 0 ] || { echo "systemd-analyze missing; run as root to install it" >&2; exit 0; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends systemd >/dev/null
