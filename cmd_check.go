package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sectriage/sectriage/config"
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
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "sectriage.toml", "config file")
	if err := fs.Parse(args); err != nil {
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
	checkDatabase(ctx, c, cfg)
	checkTeamKey(c, cfg, time.Now())
	checkIRC(ctx, c, cfg)
	if c.errors > 0 {
		fmt.Fprintf(stdout, "%d problem(s) found\n", c.errors)
		return exitFailed
	}
	return exitOK
}

func checkDatabase(ctx context.Context, c *checker, cfg *config.Config) {
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
	v, _ := db.SchemaVersion(ctx)
	if os.IsNotExist(statErr) {
		c.ok("database %s: created (schema version %d)", path, v)
	} else {
		c.ok("database %s: writable, schema version %d", path, v)
	}
}

func checkTeamKey(c *checker, cfg *config.Config, now time.Time) {
	if cfg.Keys.TeamKeyFile == "" {
		c.warn("no team key ([keys] team_key_file): encrypted reports cannot be read")
		return
	}
	armored, err := os.ReadFile(cfg.Resolve(cfg.Keys.TeamKeyFile))
	if err != nil {
		c.fail("team key: %v", err)
		return
	}
	var passphrase []byte
	if cfg.Keys.PassphraseFile != "" || os.Getenv(cfg.Keys.PassphraseEnv) != "" {
		p, err := cfg.ReadSecret(cfg.Keys.PassphraseFile, cfg.Keys.PassphraseEnv, "team key passphrase")
		if err != nil {
			c.fail("%v", err)
			return
		}
		passphrase = []byte(p)
	}
	key, err := teamkey.Load(armored, passphrase)
	if err != nil {
		c.fail("team key %s: %v", cfg.Keys.TeamKeyFile, err)
		return
	}
	if exp, ok := key.Expires(); ok {
		switch left := exp.Sub(now); {
		case left <= 0:
			c.fail("team key %s expired on %s: extend it (gpg --quick-set-expire) and re-export", key.Fingerprint(), exp.Format(time.DateOnly))
			return
		case left < keyExpiryWarning:
			c.warn("team key %s expires on %s, in %d days: extend it (gpg --quick-set-expire) and re-export", key.Fingerprint(), exp.Format(time.DateOnly), int(left.Hours()/24))
			return
		}
	}
	c.ok("team key %s (%s) unlocked", key.Fingerprint(), key.UserID())
}
