package config

// ControlConfig is [control]: the daemon's local control socket, through
// which `sectriage ingest` and `sectriage cmd` hand their work to it. The
// socket is control.sock beside the database, mode 0660.
type ControlConfig struct {
	// Group may use the socket besides the service's own user and root:
	// its members run `sectriage cmd` without reading the team key or the
	// database themselves. Empty: nobody else.
	Group string `toml:"group"`
}
