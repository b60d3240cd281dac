#!/usr/bin/env bash
# Installs the IRC network that internal/testenv/ircnet starts for the
# integration tests: InspIRCd 3 + Anope 2 (Debian 12 packages). The TLS
# certificate is generated in Go, so openssl is not needed.
# Idempotent: does nothing when everything is there, and runs apt-get update
# only when something has to be installed.
#
# The tests start their own daemons on random ports as the `irc` user, so
# the packages' stock services must never run: they would take 6667/7000 and
# load /etc configs the tests know nothing about.
set -euo pipefail

pkgs=(inspircd anope)
missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "irc.sh: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  # Forbid maintainer scripts from starting the stock daemons during the
  # install (Docker images ship this file; a plain VM does not).
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap 'if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
  export DEBIAN_FRONTEND=noninteractive
  # Other jobs on the machine may hold the dpkg lock: wait instead of failing.
  lock=(-o DPkg::Lock::Timeout=600)
  apt-get "${lock[@]}" update -qq
  apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}"
fi

# On a systemd host keep the stock units from starting now or at boot.
if [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl disable --now inspircd.service anope.service >/dev/null 2>&1 || true
fi

# The harness drops to this user: InspIRCd refuses to run as root and Anope
# sleeps 3 s when started as root.
id irc >/dev/null
for b in /usr/sbin/inspircd /usr/sbin/anope; do
  [ -x "$b" ] || { echo "irc.sh: $b missing after install" >&2; exit 1; }
done
echo "irc.sh: inspircd $(dpkg-query -W -f='${Version}' inspircd), anope $(dpkg-query -W -f='${Version}' anope) ready"
