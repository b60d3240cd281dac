package main

import (
	"fmt"

	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/config"
)

// mattermostOptions turns [mattermost] and [server] into the adapter's
// options, reading the secrets. withCallbacks also reads the slash command
// token and the button secret, which only the daemon needs.
func mattermostOptions(cfg *config.Config, withCallbacks bool) (mattermost.Options, error) {
	m := cfg.Mattermost
	token, err := cfg.ReadSecret(m.TokenFile, m.TokenEnv, "mattermost access token")
	if err != nil {
		return mattermost.Options{}, err
	}
	opts := mattermost.Options{
		URL: m.URL, Token: token, Team: m.Team, TriageChannel: m.TriageChannel,
		ChannelPerIncident: m.ChannelPerIncident, ChannelPrefix: m.ChannelPrefix, Trigger: m.Trigger,
		ButtonTTL: m.ButtonTTL.Duration, PublicURL: cfg.Server.PublicURL, TrustedMembers: m.TrustedMembers,
		MaxPosts: m.MaxPosts, RequestTimeout: m.RequestTimeout.Duration,
	}
	if !withCallbacks {
		return opts, nil
	}
	if opts.SlashToken, err = cfg.ReadSecret(m.SlashTokenFile, m.SlashTokenEnv, "mattermost slash command token"); err != nil {
		return mattermost.Options{}, fmt.Errorf("%w (sectriage mattermost register prints it when it creates the command)", err)
	}
	secret, err := cfg.ReadSecret(m.ButtonSecretFile, m.ButtonSecretEnv, "mattermost button secret")
	if err != nil {
		return mattermost.Options{}, err
	}
	if len(secret) < 16 {
		return mattermost.Options{}, fmt.Errorf("mattermost button secret: %d bytes is too short; use at least 16 (head -c 32 /dev/urandom | base64)", len(secret))
	}
	opts.ButtonSecret = []byte(secret)
	return opts, nil
}
