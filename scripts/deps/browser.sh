#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser the publish/ page tests
# drive with chromedp (no cgo; chromedp speaks the DevTools protocol).
# Idempotent: does nothing when it is there, and runs apt-get update only
# when the package cannot be found in the current lists.
set -euo pipefail

pkgs=(chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "browser deps: already installed (${pkgs[*]})"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "browser deps: missing ${missing[*]}; run as root to install them" >&2
  exit 0 # the browser test skips locally (or fails under CI) with the package name
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine often has empty package lists: update only then.
if ! apt-get install -y --no-install-recommends --dry-run "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
fi
# A stale package list gives 404s on download: refresh once and retry.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "browser deps: installed ${missing[*]}"
