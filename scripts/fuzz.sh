#!/usr/bin/env bash
# Fuzzes every target for a short, fixed time (FUZZTIME, default 15s each).
# The seed corpora (including every crasher found so far, kept under
# testdata/fuzz/) already run as ordinary tests in `go test ./...`; this adds
# fresh inputs. A failure leaves the crasher in the package's testdata/fuzz/
# directory: commit it as a seed once the bug is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-15s}
targets=(
  ./commands:FuzzCommandLine
  ./adapters/email:FuzzIntake
  ./adapters/irc:FuzzIRCSanitizeSplit
  ./adapters/irc:FuzzSplitText
  ./adapters/mattermost:FuzzMattermostNeutralize
)
for t in "${targets[@]}"; do
  pkg=${t%%:*}; name=${t##*:}
  echo "== fuzz $name ($pkg, $FUZZTIME)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
done
