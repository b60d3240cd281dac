#!/usr/bin/env bash
# Installs what internal/testenv/dovecot and internal/testenv/gpgtest run:
# Dovecot (IMAP server), GnuPG, and openssl for looking at the test
# certificates by hand (the harness itself makes them with crypto/x509).
# Idempotent: does nothing when everything is there, and runs apt-get update
# only when a package cannot be found in the current lists.
set -euo pipefail

pkgs=(dovecot-imapd gnupg openssl)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "imap deps: already installed (${pkgs[*]})"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "imap deps: missing ${missing[*]}; run as root to install them" >&2
  exit 0 # tests skip locally (or fail under CI) with the package name
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine often has empty package lists: update only then.
if ! apt-get install -y --no-install-recommends --dry-run "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
fi

# The tests run their own dovecot with their own config; the Debian service
# is never wanted. Where there is no policy-rc.d that already refuses service
# starts (Docker images have one), add one for the duration of the install.
added_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

# A stale package list gives 404s on download: refresh once and retry.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Belt and braces: if an init system started the daemon anyway, stop it and
# keep it from starting at boot, so it never holds ports 143/993.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now dovecot.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/dovecot ]; then
  /etc/init.d/dovecot stop >/dev/null 2>&1 || true
fi
echo "imap deps: installed ${missing[*]}"
