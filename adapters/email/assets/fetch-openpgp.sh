#!/bin/sh
# Re-fetches OpenPGP.js from the npm registry and checks that the files
# in this directory are exactly the published ones. With --update it
# writes them instead (after changing VERSION and the sums below, and in
# README.md). Needs npm, tar and sha256sum; writes nothing else.
set -eu
VERSION=6.3.2
# The registry's integrity of openpgp-$VERSION.tgz (npm view openpgp@$VERSION dist.integrity).
TARBALL_SHA512=wcZTzHz41LV8Y48zH/JlD1JT8YdNmpWOuMAjQ/podvvCwsjBEU37K3znJh4UQcj3hksE5z9TzvhbUbwzsGvlLQ==
JS_SHA256=e19bf4f04f34f24caded3ff3f3643099538b2674a0a94221e2faca75ac3e4aa1
LICENSE_SHA256=e3a994d82e644b03a792a930f574002658412f62407f5fee083f2555c5f23118

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "openpgp@$VERSION" >/dev/null)
got=$(openssl dgst -sha512 -binary "$tmp/openpgp-$VERSION.tgz" | base64 -w0)
[ "$got" = "$TARBALL_SHA512" ] || { echo "tarball sha512 $got, want $TARBALL_SHA512" >&2; exit 1; }
tar -xzf "$tmp/openpgp-$VERSION.tgz" -C "$tmp"
echo "$JS_SHA256  $tmp/package/dist/openpgp.min.js" | sha256sum -c --quiet
echo "$LICENSE_SHA256  $tmp/package/LICENSE" | sha256sum -c --quiet
if [ "${1:-}" = --update ]; then
	cp "$tmp/package/dist/openpgp.min.js" "$here/openpgp.min.js"
	cp "$tmp/package/LICENSE" "$here/openpgp.LICENSE"
fi
echo "$JS_SHA256  $here/openpgp.min.js" | sha256sum -c --quiet
echo "$LICENSE_SHA256  $here/openpgp.LICENSE" | sha256sum -c --quiet
echo "openpgp@$VERSION: the registry's tarball and the files here match"
