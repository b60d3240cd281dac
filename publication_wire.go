package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/publication"
	"github.com/sectriage/sectriage/schedule"
	"github.com/sectriage/sectriage/teamkey"
)

// buildPublisher makes the publication run from [publication] and
// [policy]; nil when there is no [publication]. key signs the
// announcements and is the policy page's fingerprint; without one
// nothing is signed and the lists are not mailed.
func buildPublisher(cfg *config.Config, a *app, key *teamkey.Key, log *slog.Logger) (*publication.Publisher, error) {
	if cfg.Publication == nil {
		return nil, nil
	}
	fingerprint := ""
	opts := publication.Options{OutputDir: cfg.Publication.OutputDir, Lists: cfg.Publication.Lists, DistrosList: cfg.Publication.DistrosList}
	if opts.OutputDir != "" {
		opts.OutputDir = cfg.Resolve(opts.OutputDir)
	}
	if key != nil {
		fingerprint = key.Fingerprint()
		// The key loads locked (only what a message names is unlocked);
		// announcements need its signing key.
		signer, err := key.Signer(time.Now())
		if err != nil {
			return nil, fmt.Errorf("[publication] signs announcements with the team key: %w", err)
		}
		opts.Signer = signer
	}
	opts.Site, opts.Policy = cfg.PublicationSettings(fingerprint)
	if cfg.Keys.KnownKeysDir != "" {
		known, problems := email.LoadKnownKeys(cfg.Resolve(cfg.Keys.KnownKeysDir))
		for _, p := range problems {
			log.Warn("skipping a known key", "err", p)
		}
		opts.KnownKeys = known
	}
	if cfg.Email.SMTP != nil {
		mailer, err := newMailer(cfg, a.intake, nil, nil, log)
		if err != nil {
			return nil, err
		}
		opts.Mailer = mailer
	}
	return publication.New(a.svc, opts, log)
}

// publicationJob reminds the incident managers of scheduled publications
// and runs those that are due, at every sweep.
func publicationJob(duty *bot.Duty, p *publication.Publisher, spec string) schedule.Job {
	return schedule.Job{Name: "publications", Spec: spec, AtStart: true, Run: func(ctx context.Context) error {
		if _, err := duty.PublicationReminders(ctx); err != nil {
			return err
		}
		return p.RunDue(ctx)
	}}
}

// publicationMounts serves the pages on the listener; the first build
// happens before the listener starts, so they are there from the start.
func publicationMounts(ctx context.Context, p *publication.Publisher, mounts map[string]http.Handler) error {
	if p == nil {
		return nil
	}
	if _, err := p.Refresh(ctx); err != nil {
		return err
	}
	mounts["/advisories/"] = p.Handler()
	mounts["/security/"] = p.Handler()
	return nil
}

// publicationWatcher keeps the served pages current when another process
// (`sectriage cmd`) publishes: it rebuilds after such commits.
func publicationWatcher(a *app) func(context.Context) error {
	return func(ctx context.Context) error {
		return a.db.WatchCommits(ctx, time.Second, func() {
			if err := a.pub.Reload(ctx); err != nil {
				a.log.Error("publication: rebuilding the pages", "err", err)
			}
		})
	}
}
