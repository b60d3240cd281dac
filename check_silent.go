package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/storage"
)

// checkSilentFailures looks for settings under which the daemon would
// run, say nothing, and lose something: a report nobody hears of, an
// acknowledgement never sent, a listener that cannot bind, a roster the
// config no longer describes, a damaged database file.
func checkSilentFailures(ctx context.Context, c *checker, cfg *config.Config, now time.Time) {
	checkReachable(c, cfg, now)
	checkAcknowledgements(c, cfg)
	checkListenersFree(ctx, c, cfg)
	checkStoredState(ctx, c, cfg, now)
}

// checkReachable fails when a new report would reach nobody: incidents
// are announced in chat, and people are pinged on their chat accounts or,
// with notify = "email", by mail encrypted to their own key. With neither
// every new report would wait unseen; a person with neither is asked to
// act and never hears it.
func checkReachable(c *checker, cfg *config.Config, now time.Time) {
	platforms := chatPlatforms(cfg)
	var mailed []string
	unmailable := map[string]error{}
	for _, p := range cfg.People {
		if p.Notify != bot.NotifyEmail {
			continue
		}
		if err := mailReachable(cfg, p, now); err != nil {
			unmailable[p.Name] = err
			continue
		}
		mailed = append(mailed, p.Name)
	}
	switch {
	case len(platforms) == 0 && len(mailed) == 0:
		c.fail("nobody would be told about a new report: no chat platform is configured and nobody is notified by mail; " +
			"configure [mattermost] or [irc], or give people notify = \"email\" with email and key_file " +
			"(until then only `sectriage cmd -as NAME -- list` shows new incidents)")
		return
	case len(platforms) == 0:
		c.ok("new reports reach %s by mail (no chat platform is configured: only the assignee and the incident manager hear of one)", joinAnd(mailed))
	default:
		c.ok("new reports are announced on %s", joinAnd(platforms))
		if len(mailed) > 0 {
			c.ok("%s notified by mail", joinAnd(mailed))
		}
	}
	// Pings go to a person's own account on each platform, or only by
	// mail with notify = "email": someone reachable neither way is asked
	// to act and never hears it.
	for i, p := range cfg.People {
		where := cfg.File()
		if n := cfg.Line(fmt.Sprintf("people[%d].name", i+1)); n > 0 {
			where = fmt.Sprintf("%s:%d", where, n)
		}
		if err, ok := unmailable[p.Name]; ok {
			c.fail("%s (%s) is notified by mail, but %v: pings to %s (new incidents, deadlines, escalations) would reach nobody",
				p.Name, where, err, p.Name)
			continue
		}
		if p.Notify == bot.NotifyEmail {
			continue
		}
		if (cfg.IRCEnabled() && p.IRCAccount != "") || (cfg.Mattermost.Enabled() && p.Mattermost != "") {
			continue
		}
		if len(platforms) == 0 {
			c.fail("%s (%s) is on no chat platform (none is configured) and not notified by mail: pings to %s (new incidents, deadlines, escalations) would reach nobody; "+
				"set notify = \"email\" with email and key_file, or configure [mattermost] or [irc]", p.Name, where, p.Name)
			continue
		}
		c.fail("%s (%s) has no account on %s: pings to %s (new incidents, deadlines, escalations) would reach nobody; set %s, or notify = \"email\" with email and key_file",
			p.Name, where, joinAnd(platforms), p.Name, accountKeys(cfg))
	}
}

// mailReachable says why mail to a person with notify = "email" could
// not be sent: no [email.smtp], no address, or no key that encrypts (mail
// to the team is never sent in the clear).
func mailReachable(cfg *config.Config, p config.PersonConfig, now time.Time) error {
	switch {
	case cfg.Email.SMTP == nil:
		return errors.New("there is no [email.smtp] to send it")
	case p.Email == "":
		return errors.New("email is not set")
	case p.KeyFile == "":
		return errors.New("key_file is not set (mail to the team is always encrypted)")
	}
	_, err := memberKey(cfg, p.Name, p.KeyFile, now)
	return err
}

// accountKeys names the [[people]] keys of the configured platforms.
func accountKeys(cfg *config.Config) string {
	var keys []string
	if cfg.IRCEnabled() {
		keys = append(keys, "irc_account")
	}
	if cfg.Mattermost.Enabled() {
		keys = append(keys, "mattermost")
	}
	return strings.Join(keys, " or ")
}

// checkAcknowledgements fails when reporters are promised an
// acknowledgement that cannot be sent: it would wait in the outbox for
// ever.
func checkAcknowledgements(c *checker, cfg *config.Config) {
	if cfg.Keys.TeamKeyFile == "" || !cfg.Intake.Acknowledge || cfg.Email.SMTP != nil {
		return // no intake, or nothing to send, or a way to send it
	}
	where := "the default"
	if n := cfg.Line("intake.acknowledge"); n > 0 {
		where = fmt.Sprintf("%s:%d", cfg.File(), n)
	}
	c.fail("[intake] acknowledge is on (%s) but there is no [email.smtp]: reporters would never get their incident id; "+
		"configure [email.smtp] or set acknowledge = false", where)
}

// checkStoredState runs SQLite's quick_check and compares the roster the
// database holds with the config's.
func checkStoredState(ctx context.Context, c *checker, cfg *config.Config, now time.Time) {
	path := cfg.Resolve(cfg.Storage.Path)
	db, err := storage.Open(ctx, path, discardLogger())
	if err != nil {
		return // checkDatabase has said why
	}
	defer db.Close()
	switch problems, err := db.QuickCheck(ctx); {
	case err != nil:
		c.fail("database %s: quick_check: %v", path, err)
	case len(problems) > 0:
		c.fail("database %s is damaged (PRAGMA quick_check): %s; stop sectriage and restore the latest backup (see README, Backups)",
			path, problems[0])
	default:
		c.ok("database %s: quick_check ok", path)
	}
	st, err := cfg.Settings(nil)
	if err != nil {
		return // checkRoster has said why
	}
	rs, err := db.RosterState(ctx, now)
	if err != nil {
		c.fail("database %s: reading the roster: %v", path, err)
		return
	}
	checkRosterAgrees(c, cfg, st, rs)
}

// checkRosterAgrees names every SIG whose lead in the database differs
// from the config's, says which one counts and how to make them agree.
// An accepted hand-over wins while the config still names the lead it
// was made against; once the config names anyone else, the config wins.
func checkRosterAgrees(c *checker, cfg *config.Config, st *bot.Settings, rs *bot.RosterState) {
	for i, g := range st.SIGs {
		where := cfg.File()
		if n := cfg.Line(fmt.Sprintf("sigs[%d].lead", i+1)); n > 0 {
			where = fmt.Sprintf("%s:%d", where, n)
		}
		if lead := rs.Lead(g); lead != g.Lead {
			accepted := "?"
			if h := acceptedHandover(rs, g.Name); h != nil {
				accepted = h.Accepted.UTC().Format(time.DateOnly)
			}
			c.fail("SIG %s: the database says %s leads (hand-over accepted %s), the config says %s (%s); "+
				"the database wins while the config names %s. Reconcile: set lead = %q there, or hand back with `handover %s %s`",
				g.Name, lead, accepted, orNobody(g.Lead), where, orNobody(g.Lead), lead, g.Name, orNobody(g.Lead))
			continue
		}
		if h := acceptedHandover(rs, g.Name); h != nil && h.To != g.Lead {
			c.warn("SIG %s: the hand-over to %s (accepted %s) was made while the config named %s; the config now names %s (%s), and the config wins",
				g.Name, h.To, h.Accepted.UTC().Format(time.DateOnly), h.ConfigLead, orNobody(g.Lead), where)
		}
		if h := rs.PendingHandover(g.Name); h != nil {
			c.ok("SIG %s: the hand-over from %s to %s waits for %s to accept it", g.Name, h.From, h.To, h.To)
		}
	}
}

// acceptedHandover is the latest accepted, not withdrawn hand-over of sig.
func acceptedHandover(rs *bot.RosterState, sig string) *bot.Handover {
	var latest *bot.Handover
	for _, h := range rs.Handovers {
		if strings.EqualFold(h.SIG, sig) && !h.Accepted.IsZero() && h.Cancelled.IsZero() && (latest == nil || h.Accepted.After(latest.Accepted)) {
			latest = h
		}
	}
	return latest
}

func orNobody(name string) string {
	if name == "" {
		return "nobody"
	}
	return name
}

func joinAnd(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	out := list[0]
	for _, s := range list[1 : len(list)-1] {
		out += ", " + s
	}
	return out + " and " + list[len(list)-1]
}
