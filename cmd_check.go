package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/adapters/mattermost"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/schedule"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// keyExpiryWarning is how long before expiry the team key is warned about.
const keyExpiryWarning = 30 * 24 * time.Hour

// checker collects what `sectriage check` finds.
type checker struct {
	out    io.Writer
	errors int
}

func (c *checker) ok(format string, args ...any) {
	fmt.Fprintf(c.out, "ok:      "+format+"\n", args...)
}
func (c *checker) warn(format string, args ...any) {
	fmt.Fprintf(c.out, "warning: "+format+"\n", args...)
}
func (c *checker) fail(format string, args ...any) {
	c.errors++
	fmt.Fprintf(c.out, "error:   "+format+"\n", args...)
}

// cmdCheck validates the config, the database and the team key, and with
// IRC configured connects to check the triage channel is private, printing
// each finding; it exits 0 only if there is no error.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, configPath := newFlags("check")
	if code, done := parseFlags(fs, args, stdout, stderr, exitUsage); done {
		return code
	}
	if fs.NArg() > 0 {
		usageError(stderr, mustSubcommand("check"))
		return exitUsage
	}
	c := &checker{out: stdout}
	cfg, err := config.Load(*configPath)
	if err != nil {
		if ps, ok := err.(config.Problems); ok {
			for _, p := range ps {
				c.fail("%s", p)
			}
		} else {
			c.fail("%v", err)
		}
		return exitFailed
	}
	c.ok("config %s: %d people, %d SIGs", *configPath, len(cfg.People), len(cfg.SIGs))
	for _, w := range cfg.Warnings() {
		c.warn("%s", w)
	}
	checkServer(c, cfg, time.Now())
	checkRoster(c, cfg, time.Now())
	if cfg.Mattermost.Enabled() {
		checkMattermost(ctx, c, cfg)
	}
	key := checkTeamKey(c, cfg, time.Now())
	checkDatabase(ctx, c, cfg, key)
	checkKnownKeys(c, cfg)
	checkSecurityTxt(c, cfg, key, time.Now())
	checkMail(ctx, c, cfg)
	checkIRC(ctx, c, cfg)
	checkSilentFailures(ctx, c, cfg, time.Now())
	if c.errors > 0 {
		fmt.Fprintf(stdout, "%d problem(s) found\n", c.errors)
		return exitFailed
	}
	return exitOK
}

func checkDatabase(ctx context.Context, c *checker, cfg *config.Config, key *teamkey.Key) {
	path := cfg.Resolve(cfg.Storage.Path)
	_, statErr := os.Stat(path)
	db, err := storage.Open(ctx, path, discardLogger())
	if err != nil {
		c.fail("database %s: %v", path, err)
		return
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		c.fail("database %s is not writable: %v", path, err)
		return
	}
	wrappedTo, err := db.WrappedTo(ctx)
	switch {
	case err != nil:
		c.fail("database %s: reading its data key: %v", path, err)
	case wrappedTo == "":
		c.ok("database %s: not sealed yet; the first run seals it with a new data key wrapped to the team key", path)
	case key != nil && wrappedTo != key.Fingerprint() && slices.Contains(key.DecryptionFingerprints(), wrappedTo):
		c.ok("database %s: sealed, data key wrapped to retired team key %s; the next command that opens the database re-wraps it to the current key %s (keep the retired key configured until then)",
			path, wrappedTo, key.Fingerprint())
	case key != nil && wrappedTo != key.Fingerprint():
		c.fail("database %s is sealed with a data key wrapped to team key %s, which is neither the current key %s nor a retired one: configure key %s as [keys] team_key_file, or under [[keys.retired]] if it was rotated out",
			path, wrappedTo, key.Fingerprint(), wrappedTo)
	default:
		c.ok("database %s: sealed, data key wrapped to team key %s", path, wrappedTo)
	}
	v, _ := db.SchemaVersion(ctx)
	if os.IsNotExist(statErr) {
		c.ok("database %s: created (schema version %d)", path, v)
	} else {
		c.ok("database %s: writable, schema version %d", path, v)
	}
	checkHeld(ctx, c, db)
}

func checkTeamKey(c *checker, cfg *config.Config, now time.Time) *teamkey.Key {
	if cfg.Keys.TeamKeyFile == "" {
		c.fail("%v", errNoTeamKey)
		return nil
	}
	key, err := loadTeamKey(cfg)
	if u := (*teamkey.UnusableError)(nil); errors.As(err, &u) {
		c.fail("%v. Until then `sectriage ingest` holds incoming reports in the database and the other commands refuse to start ([keys] team_key_file %s)",
			u, cfg.Keys.TeamKeyFile)
		// It still decrypts: check what depends on it all the same.
		key, err = loadTeamKeys(cfg, teamkey.LoadRetired)
		if err == nil {
			err = key.Unlock() // a wrong passphrase shows only here
		}
		if err != nil {
			c.fail("%v", err)
			return nil
		}
		checkRetiredKeys(c, key, now)
		return key
	}
	if err == nil {
		err = key.Unlock() // a wrong passphrase shows only here, the retired keys' too
	}
	if err != nil {
		c.fail("%v", err)
		return nil
	}
	if exp, ok := key.UsableUntil(now); ok && exp.Sub(now) < keyExpiryWarning {
		c.warn("team key %s expires on %s, in %d days: extend it (gpg --quick-set-expire FINGERPRINT 1y, and for the encryption subkey gpg --quick-set-expire FINGERPRINT 1y '*') and export it again, or rotate it (README, Rotating the team key)",
			key.Fingerprint(), exp.UTC().Format(time.DateOnly), int(exp.Sub(now).Hours()/24))
	} else {
		c.ok("team key %s (%s) unlocked", key.Fingerprint(), key.UserID())
	}
	checkRetiredKeys(c, key, now)
	return key
}

// checkRetiredKeys lists the retired keys: each decrypts what was
// encrypted to it, revoked or expired as it may be.
func checkRetiredKeys(c *checker, key *teamkey.Key, now time.Time) {
	for _, r := range key.Retired() {
		state := "valid"
		if err := r.Usable(now); err != nil {
			var u *teamkey.UnusableError
			if errors.As(err, &u) {
				state = u.Reason
			}
		}
		c.ok("retired team key %s (%s; %s) unlocked: it decrypts reports and copies encrypted to it, nothing new is encrypted to it", r.Fingerprint(), r.UserID(), state)
	}
}

func checkKnownKeys(c *checker, cfg *config.Config) {
	dir := cfg.Keys.KnownKeysDir
	if dir == "" {
		return
	}
	keys, problems := email.LoadKnownKeys(cfg.Resolve(dir))
	for _, p := range problems {
		c.fail("%v (put reporters' and members' armored public keys there, one per file, or unset [keys] known_keys_dir)", p)
	}
	if len(problems) == 0 {
		c.ok("known keys: %d in %s", len(keys), dir)
	}
}

// checkSecurityTxt warns SecurityTxtExpiryWarning before security.txt
// expires: an expired file tells reporters the contact is stale.
func checkSecurityTxt(c *checker, cfg *config.Config, key *teamkey.Key, now time.Time) {
	st := cfg.SecurityTxt
	if st == nil {
		return
	}
	exp, err := st.ExpiresTime()
	if err != nil {
		c.fail("security_txt.expires: %v", err)
		return
	}
	switch left := exp.Sub(now); {
	case left <= 0:
		c.fail("security.txt expired on %s: set a new [security_txt] expires (less than a year ahead, RFC 9116)", exp.Format(time.DateOnly))
		return
	case left < config.SecurityTxtExpiryWarning:
		c.warn("security.txt expires on %s, in %d days: set a new [security_txt] expires", exp.Format(time.DateOnly), int(left.Hours()/24))
	case left > 366*24*time.Hour:
		c.warn("security.txt expires on %s, more than a year ahead; RFC 9116 recommends less", exp.Format(time.DateOnly))
	default:
		c.ok("security.txt valid until %s", exp.Format(time.DateOnly))
	}
	if key != nil {
		if _, err := key.SigningKey(now); err != nil {
			c.fail("security.txt cannot be signed: %v", err)
		}
	}
}

// checkMail logs in to the IMAP and SMTP servers.
func checkMail(ctx context.Context, c *checker, cfg *config.Config) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log := discardLogger()
	if m := cfg.Email.IMAP; m != nil {
		if src, err := newIMAP(cfg, nil, log); err != nil {
			c.fail("email.imap: %v", err)
		} else if err := src.Check(ctx); err != nil {
			c.fail("email.imap %s: %v", m.Address, err)
		} else {
			c.ok("IMAP %s: logged in as %s, mailbox %s", m.Address, m.Username, m.Mailbox)
		}
	}
	if m := cfg.Email.SMTP; m != nil {
		if mailer, err := newMailer(cfg, nil, nil, nil, log); err != nil {
			c.fail("email.smtp: %v", err)
		} else if err := mailer.Check(ctx); err != nil {
			c.fail("email.smtp %s: %v", m.Address, err)
		} else {
			c.ok("SMTP %s: connected (%s)", m.Address, m.TLS)
		}
	}
}

// checkHeld reports the messages the privacy rule holds back: each group
// waits for its destination to be fixed.
func checkHeld(ctx context.Context, c *checker, db *storage.DB) {
	groups, err := db.HeldMessages(ctx)
	if err != nil {
		c.fail("reading held messages: %v", err)
		return
	}
	for _, g := range groups {
		c.fail("%d %s message(s) held since %s: %s (fix it; the running daemon then delivers them)",
			g.Count, g.Platform, g.Since.Format(time.DateTime+" MST"), g.Reason)
	}
}

// checkRoster shows when the jobs run next and who the rotations put on
// duty now (covers and absences in the database aside), so an operator
// can see a misplaced zone or start date before the first page.
func checkRoster(c *checker, cfg *config.Config, now time.Time) {
	st, err := cfg.Settings(nil)
	if err != nil {
		c.fail("%v", err)
		return
	}
	// Only the specs matter here: the jobs are never run.
	sched, err := schedule.New(discardLogger(), st.Location, jobs(nil, cfg.Schedules, discardLogger())...)
	if err != nil {
		c.fail("%v", err)
		return
	}
	next := sched.Next(now)
	var runs []string
	for _, name := range []string{"sweep", "reminders", "digest"} {
		if t, ok := next[name]; ok {
			runs = append(runs, fmt.Sprintf("%s %s", name, bot.FormatTime(t, st.Location)))
		} else {
			runs = append(runs, name+" off")
		}
	}
	c.ok("schedules, next runs: %s", strings.Join(runs, ", "))
	var duty []string
	for _, team := range append(st.SIGNames(), bot.Officers) {
		d := bot.OnDutyAt(st, nil, team, now)
		duty = append(duty, fmt.Sprintf("%s %s (%s)", team, d.Person, d.Source))
	}
	c.ok("on duty now by the config: %s", strings.Join(duty, ", "))
}

// checkMattermost checks the secrets, the bot account, the team, the
// triage channel, the people's accounts and the slash command, changing
// nothing.
func checkMattermost(ctx context.Context, c *checker, cfg *config.Config) {
	if _, err := mattermostOptions(cfg, true); err != nil {
		c.fail("mattermost: %v", err)
	}
	opts, err := mattermostOptions(cfg, false)
	if err != nil {
		return
	}
	a, err := openApp(ctx, cfg, discardLogger(), appOptions{platforms: chatPlatforms(cfg)})
	if err != nil {
		c.fail("mattermost: %v", err)
		return
	}
	defer a.Close()
	mm, err := mattermost.New(opts, a.svc, a.reg, a.db, nil, discardLogger())
	if err != nil {
		c.fail("%v", err)
		return
	}
	findings, err := mm.Check(ctx)
	if err != nil {
		c.fail("mattermost %s: %v", cfg.Mattermost.URL, err)
		return
	}
	for _, f := range findings {
		if f.Warning {
			c.warn("mattermost: %s", f.Msg)
		} else {
			c.ok("%s", f.Msg)
		}
	}
	// The same privacy rule the daemon applies before every post.
	v, err := mm.CheckPrivacy(ctx)
	switch {
	case err != nil:
		c.fail("mattermost %s: checking the triage channel: %v", cfg.Mattermost.URL, err)
	case !v.OK:
		c.fail("mattermost: %s: nothing about incidents is posted there until it is fixed", v.Reason)
	default:
		c.ok("Mattermost: triage channel %s is private and holds only the team", cfg.Mattermost.TriageChannel)
	}
}
