// Package e2e tests the sectriage binary end to end, the way an operator
// runs it: `go build` makes the real binary, real Dovecot, InspIRCd + Anope
// and Mattermost servers run on loopback (internal/testenv), a complete
// sectriage.toml is written, and `sectriage run` is started as a child
// process. GnuPG-encrypted reports go into the mailbox or through
// `sectriage ingest`, and the test follows them to the private IRC and
// Mattermost channels, through chat commands on both and into an
// escalation. Like every integration test it skips on a machine without
// the servers and fails in CI (testenv.Unavailable).
//
// The package has only tests and benchmarks; the benchmarks measure the
// figures of the closing note and run only when asked for:
//
//	CI=1 go test -run XXX -bench ArrivalToPost -benchtime 100x ./e2e  # arrival → Mattermost post, p50/p99
//	CI=1 go test -run XXX -bench ArrivalToIRC -benchtime 20x ./e2e    # arrival → IRC announcement
//	CI=1 go test -run XXX -bench 'Startup|RSS' -benchtime 5x ./e2e    # start-up time, memory
package e2e
