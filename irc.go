package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/sectriage/sectriage/adapters/irc"
	"github.com/sectriage/sectriage/config"
)

// ircOptions turns the [irc] section into the adapter's options: the
// secrets read from their files or the environment, the TLS configuration
// made.
func ircOptions(cfg *config.Config) (irc.Options, error) {
	r := cfg.IRC
	o := irc.Options{
		Server: r.Server, Nick: r.Nick, AltNicks: r.AltNicks, User: r.User, RealName: r.RealName,
		TriageChannel: r.TriageChannel.Name, Prefix: r.Prefix, ManageModes: r.ManageModes,
		Burst: r.Rate.Burst, PerLine: r.Rate.PerLine.Duration,
		MaxBodyLines: r.MaxBodyLines, FullReport: r.FullReport,
		ReconnectMin: r.Reconnect.Min.Duration, ReconnectMax: r.Reconnect.Max.Duration,
		ChannelPerIncident: r.ChannelPerIncident, IncidentChannel: r.IncidentChannel,
		TrustedAccounts: r.TrustedMembers,
	}
	var err error
	if r.ServerPasswordFile != "" || r.ServerPasswordEnv != "" {
		if o.ServerPassword, err = cfg.ReadSecret(r.ServerPasswordFile, r.ServerPasswordEnv, "IRC server password"); err != nil {
			return o, err
		}
	}
	if r.TriageChannel.KeyFile != "" || r.TriageChannel.KeyEnv != "" {
		if o.TriageKey, err = cfg.ReadSecret(r.TriageChannel.KeyFile, r.TriageChannel.KeyEnv, "IRC channel key"); err != nil {
			return o, err
		}
		if !config.ValidIRCKey(o.TriageKey) {
			return o, fmt.Errorf("IRC channel key: up to 23 characters without spaces, commas or colons")
		}
	}
	o.SASL.Mechanism = strings.ToUpper(r.SASL.Mechanism)
	o.SASL.Account = r.SASL.Account
	if o.SASL.Mechanism == irc.SASLPlain {
		if o.SASL.Password, err = cfg.ReadSecret(r.SASL.PasswordFile, r.SASL.PasswordEnv, "IRC SASL password"); err != nil {
			return o, err
		}
	}
	if !r.TLS {
		return o, nil
	}
	host, _, _ := net.SplitHostPort(r.Server)
	topts := irc.TLSOptions{ServerName: host, Pin: r.Pin}
	if r.CAFile != "" {
		if topts.CAPEM, err = os.ReadFile(cfg.Resolve(r.CAFile)); err != nil {
			return o, fmt.Errorf("IRC CA file: %w", err)
		}
	}
	if o.SASL.Mechanism == irc.SASLExternal {
		if err := config.CheckSecretFile(cfg.SecretPath(r.SASL.KeyFile)); err != nil {
			return o, fmt.Errorf("IRC client key: %w", err)
		}
		cert, err := tls.LoadX509KeyPair(cfg.Resolve(r.SASL.CertFile), cfg.SecretPath(r.SASL.KeyFile))
		if err != nil {
			return o, fmt.Errorf("IRC client certificate: %w", err)
		}
		topts.ClientCert = &cert
	}
	if o.TLS, err = irc.TLSConfig(topts); err != nil {
		return o, fmt.Errorf("IRC TLS: %w", err)
	}
	return o, nil
}

// checkIRC connects as the bot, joins the triage channel and reads its
// modes: `sectriage check` fails when report content could not be posted
// there.
func checkIRC(ctx context.Context, c *checker, cfg *config.Config) {
	if !cfg.IRCEnabled() {
		return
	}
	opts, err := ircOptions(cfg)
	if err != nil {
		c.fail("%v", err)
		return
	}
	st, err := cfg.Settings(nil)
	if err != nil {
		c.fail("%v", err)
		return
	}
	res, err := irc.Check(ctx, opts, st.People, discardLogger())
	if err != nil {
		c.fail("IRC %s: %v", cfg.IRC.Server, err)
		return
	}
	login := "not logged in (no SASL)"
	if res.LoggedIn {
		login = "logged in as " + opts.SASL.Account
		if opts.SASL.Account == "" {
			login = "logged in (SASL EXTERNAL)"
		}
	}
	c.ok("IRC %s: connected as %s, %s", cfg.IRC.Server, res.Nick, login)
	if err := res.Err(); err != nil {
		c.fail("%v", err)
		return
	}
	c.ok("IRC %s is private (modes %s) and holds only the team", res.Channel, res.Modes)
	if opts.ManageModes && !res.Op {
		c.warn("IRC manage_modes is on but the bot is not operator in %s: it cannot fix the modes if they change", res.Channel)
	}
}
