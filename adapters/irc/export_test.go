package irc

// Neutralize is the sanitiser, for the integration tests to compute what a
// report must look like on the wire.
var Neutralize = neutralize
