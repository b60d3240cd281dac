#!/bin/sh
# Times `sectriage ingest` (one process per message, as an MTA pipe runs
# it) against `gpg --decrypt` of the same messages, and `sectriage cmd ...
# list open`, with a team key made by GnuPG and protected as GnuPG does by
# default on a fast machine (S2K count 65,011,712). Prints the median and
# p90 of each, in milliseconds.
#
#   scripts/bench/ingest-vs-gpg.sh [N] [SECTRIAGE_BINARY ...]
#
# N messages (default 21). With several binaries (e.g. one built from main
# and one from a branch) each is timed on the same messages, into its own
# fresh database. With DAEMON=1, each binary's `sectriage run` serves its
# database meanwhile (a binary with a control socket then hands the work
# to it). Needs gpg, gpgconf and python3.
set -eu
n=${1:-21}
[ $# -gt 0 ] && shift
work=$(mktemp -d /tmp/stbench-XXXXXX)
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; wait; GNUPGHOME="$work/g" gpgconf --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
	go build -o "$work/sectriage" . && set -- "$work/sectriage"
fi
export GNUPGHOME="$work/g"
mkdir -m 700 "$GNUPGHOME"
# The agent's setting governs how exported secret keys are protected.
echo "s2k-count 65011712" >"$GNUPGHOME/gpg-agent.conf"
echo "s2k-count 65011712" >"$GNUPGHOME/gpg.conf"
gpg() { command gpg --batch --quiet --pinentry-mode loopback "$@"; }
printf 'Key-Type: EDDSA\nKey-Curve: ed25519\nSubkey-Type: ECDH\nSubkey-Curve: cv25519\nKey-Usage: sign\nSubkey-Usage: encrypt\nName-Real: Security Team\nName-Email: security@example.org\nPassphrase: correct horse\nExpire-Date: 0\n%%commit\n' |
	gpg --gen-key 2>/dev/null
gpg --passphrase 'correct horse' --armor --export-secret-keys security@example.org >"$work/team.asc"
printf 'correct horse\n' >"$work/passphrase"
chmod 600 "$work/team.asc" "$work/passphrase"

i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	printf 'Content-Type: text/plain; charset=utf-8\r\nSubject: report %d\r\n\r\nThe login form is vulnerable (%d).\r\n' $i $i |
		gpg --armor --encrypt --recipient security@example.org >"$work/inner$i.asc"
	{
		printf 'From: reporter@example.net\r\nTo: security@example.org\r\nSubject: ...\r\nMessage-ID: <bench%d@example.net>\r\n' $i
		printf 'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r\n\r\n'
		printf -- '--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n'
		cat "$work/inner$i.asc"
		printf '\r\n--b--\r\n'
	} >"$work/msg$i.eml"
done

# ms runs a command and prints how long it took, wall clock and CPU time
# (user + system) in milliseconds: on a busy machine the CPU time is the
# steadier figure.
ms() { python3 -c 'import resource,subprocess,sys,time
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime
c=cpu(); t=time.perf_counter(); r=subprocess.run(sys.argv[1:],stdin=sys.stdin,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
sys.exit("exit %d: %s" % (r.returncode, sys.argv[1:])) if r.returncode else print("%.1f %.1f" % ((time.perf_counter()-t)*1000, (cpu()-c)*1000))' "$@"; }
summary() { python3 -c 'import sys,statistics
rows=[l.split() for l in sys.stdin if l.strip()]
def q(v): v=sorted(v); return statistics.median(v), v[int(0.9*(len(v)-1))]
w=q([float(r[0]) for r in rows]); c=q([float(r[1]) for r in rows])
print("wall median %6.1f p90 %6.1f ms | cpu median %6.1f p90 %6.1f ms (n=%d)" % (w[0], w[1], c[0], c[1], len(rows)))'; }

# gpg --decrypt with a warm agent (the passphrase cached after the first).
gpg --passphrase 'correct horse' --decrypt "$work/inner1.asc" >/dev/null 2>&1
printf '%-40s ' "gpg --decrypt (warm agent)"
i=0; while [ $i -lt "$n" ]; do i=$((i + 1)); ms gpg --batch --quiet --decrypt "$work/inner$i.asc" </dev/null; done | summary

# Each binary gets its own fresh database; they take turns on each
# message, so that a busy machine slows all of them alike.
k=0
for bin in "$@"; do
	k=$((k + 1))
	mkdir "$work/run$k"
	cp "$work/team.asc" "$work/passphrase" "$work/run$k/"
	cat >"$work/run$k/sectriage.toml" <<TOML
[storage]
path = "st.db"

[[people]]
name = "alice"
role = "officer"

[[sigs]]
name = "core"
lead = "alice"

[keys]
team_key_file = "team.asc"
passphrase_file = "passphrase"
TOML
done
if [ "${DAEMON:-}" = 1 ]; then
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		"$bin" run -config "$work/run$k/sectriage.toml" 2>"$work/run$k/daemon.log" &
		pids="$pids $!"
	done
	sleep 3 # the daemons open their databases and unlock the key
fi
i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	k=0
	for bin in "$@"; do
		k=$((k + 1))
		ms "$bin" ingest -config "$work/run$k/sectriage.toml" <"$work/msg$i.eml" >>"$work/ingest$k"
		ms "$bin" cmd -config "$work/run$k/sectriage.toml" -as alice -- list open </dev/null >>"$work/list$k"
	done
done
k=0
for bin in "$@"; do
	k=$((k + 1))
	printf '%-40s ' "$bin ingest"
	summary <"$work/ingest$k"
	printf '%-40s ' "$bin cmd list open"
	summary <"$work/list$k"
done
