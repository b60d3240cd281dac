// Package bot is the domain of sectriage: incidents and their state machine,
// people and their roles, deadlines, the outbox of messages to send, and the
// service that applies commands to incidents.
//
// It imports only the standard library (deps_test.go enforces this). Storage,
// chat platforms and mail live in other packages that import bot; the small
// interfaces they implement are declared here, where they are used.
package bot
