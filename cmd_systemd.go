package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/sectriage/sectriage/config"
)

// cmdSystemdUnit prints the systemd unit for a config: the secret files of
// the platforms it configures, and only those, loaded as credentials (a
// missing credential file stops the unit from starting). With -check it
// prints instead the systemd-run command that runs `check` as the service
// would: same user, state directory and credentials, before the first
// start.
func cmdSystemdUnit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("systemd-unit")
	binary := fs.String("binary", "/usr/local/bin/sectriage", "the installed `PATH` of the binary")
	check := fs.Bool("check", false, "print the systemd-run command that runs check with the unit's user and credentials")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("systemd-unit"))
		return exitUsage
	}
	cfg, ok := loadConfig(*configPath, stderr)
	if !ok {
		return exitUsage
	}
	abs, err := filepath.Abs(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	if err := distinctNames(cfg); err != nil {
		fmt.Fprintln(stderr, "sectriage:", err)
		return exitFailed
	}
	if *check {
		fmt.Fprintln(stdout, checkCommand(cfg, *binary, abs))
		return exitOK
	}
	fmt.Fprint(stdout, systemdUnit(cfg, *binary, abs))
	return exitOK
}

// credentials are the LoadCredential= values for cfg: each secret file
// under its base name, which config.SecretPath looks for.
func credentials(cfg *config.Config) []string {
	var out []string
	for _, s := range cfg.SecretFiles() {
		out = append(out, filepath.Base(s.Path)+":"+s.Path)
	}
	return out
}

// distinctNames refuses two secret files of one base name: as
// credentials, one would hide the other.
func distinctNames(cfg *config.Config) error {
	seen := map[string]string{}
	for _, s := range cfg.SecretFiles() {
		name := filepath.Base(s.Path)
		if other, ok := seen[name]; ok {
			return fmt.Errorf("%s and %s are both named %s: as systemd credentials one would hide the other; rename one", other, s.Key, name)
		}
		seen[name] = s.Key
	}
	return nil
}

func checkCommand(cfg *config.Config, binary, configPath string) string {
	parts := []string{"systemd-run", "--pipe", "--wait", "--collect", "--quiet",
		"-p", "User=sectriage", "-p", "Group=sectriage", "-p", "StateDirectory=sectriage", "-p", "StateDirectoryMode=0750",
		"-p", "WorkingDirectory=/var/lib/sectriage", "-p", "UMask=0077"}
	for _, c := range credentials(cfg) {
		parts = append(parts, "-p", "LoadCredential="+c)
	}
	parts = append(parts, binary, "check", "-config", configPath)
	return strings.Join(parts, " ")
}

func systemdUnit(cfg *config.Config, binary, configPath string) string {
	var creds strings.Builder
	for _, c := range credentials(cfg) {
		creds.WriteString("LoadCredential=" + c + "\n")
	}
	if creds.Len() == 0 {
		creds.WriteString("# No secret files in the config: nothing to load.\n")
	}
	return strings.NewReplacer("{{binary}}", binary, "{{config}}", configPath, "{{credentials}}", creds.String()).Replace(unitTemplate)
}

// unitTemplate is the unit; `systemd-analyze security --offline=yes`
// rates its exposure 1.4 (OK), and contrib_test.go keeps it there.
const unitTemplate = `# sectriage daemon, as printed by: sectriage systemd-unit -config {{config}}
# Install: see README "Deployment".
#   install -m 0644 sectriage.service /etc/systemd/system/
#   systemctl daemon-reload && systemctl enable --now sectriage
[Unit]
Description=sectriage security-response desk
Documentation=https://github.com/sectriage/sectriage
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
User=sectriage
Group=sectriage
ExecStart={{binary}} run -config {{config}}
ExecReload=/bin/kill -HUP $MAINPID
# The secret files the config names, for the platforms it configures,
# copied by systemd to $CREDENTIALS_DIRECTORY, readable only by this
# service; sectriage reads each there under its file's name. They stay
# root's, mode 0600, where the config names them.
{{credentials}}# /var/lib/sectriage holds the SQLite database: the only writable place.
StateDirectory=sectriage
StateDirectoryMode=0750
WorkingDirectory=/var/lib/sectriage
Restart=on-failure
RestartSec=5s
# Graceful stop: the daemon finishes what it is doing; queued messages stay in the outbox.
KillSignal=SIGTERM
TimeoutStopSec=30s

# Hardening.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0077

[Install]
WantedBy=multi-user.target
`
