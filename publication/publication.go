// Package publication runs the publication of an advisory: the service
// marks it published (disclosed incident, reporter told), then every
// output is made from all published advisories: the CVE and OSV records
// and the pages in the output directory and on the listener, and the
// clearsigned announcement to each list. The run is idempotent: run again
// after a failure, it redoes the files and mails only the lists it missed.
package publication

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/publish"
)

// Mailer sends the announcement and the encrypted distros draft; the
// e-mail adapter's Mailer implements it.
type Mailer interface {
	SendAnnouncement(ctx context.Context, to, subject string, body []byte) error
	SendEncrypted(ctx context.Context, to, subject string, body []byte, key *openpgp.Entity) error
}

// Options configure the publisher ([publication] and [policy]).
type Options struct {
	Site      publish.Settings
	Policy    publish.Policy
	OutputDir string   // empty: the pages are only served
	Lists     []string // announcement addresses
	// DistrosList is the distros list's address; its key must be among
	// KnownKeys.
	DistrosList string
	KnownKeys   openpgp.EntityList
	// Signer is the team key with its private part unlocked; nil means
	// announcements cannot be signed and are not sent.
	Signer *openpgp.Entity
	Mailer Mailer // nil: no [email.smtp], no mail
}

// Publisher runs publications. It implements commands.Publisher.
type Publisher struct {
	svc  *bot.Service
	opts Options
	log  *slog.Logger
	site atomic.Pointer[publish.Site]
	// stamp says which published advisories the served site was built
	// from, so Reload rebuilds only when they changed.
	stamp atomic.Pointer[string]
}

// New makes the publisher; call Refresh before serving its Handler.
func New(svc *bot.Service, opts Options, log *slog.Logger) (*Publisher, error) {
	if err := opts.Site.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	return &Publisher{svc: svc, opts: opts, log: log.With("component", "publication")}, nil
}

// Handler serves /advisories/ and /security/ from the latest build.
func (p *Publisher) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		site := p.site.Load()
		if site == nil {
			http.Error(w, "the pages are being built", http.StatusServiceUnavailable)
			return
		}
		site.Handler().ServeHTTP(w, r)
	})
}

// Refresh builds the site from every published advisory, serves it, and
// writes it to the output directory. It returns the files written.
func (p *Publisher) Refresh(ctx context.Context) ([]string, error) {
	list, err := p.svc.PublishedAdvisories(ctx)
	if err != nil {
		return nil, err
	}
	site, err := p.build(list)
	if err != nil {
		return nil, err
	}
	if p.opts.OutputDir == "" {
		return nil, nil
	}
	if err := site.WriteDir(p.opts.OutputDir); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(site.Files))
	for name := range site.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (p *Publisher) build(list []bot.Advisory) (*publish.Site, error) {
	site, err := publish.Build(p.opts.Site, p.opts.Policy, list)
	if err != nil {
		return nil, fmt.Errorf("building the pages: %w", err)
	}
	stamp := stampOf(list)
	p.site.Store(site)
	p.stamp.Store(&stamp)
	return site, nil
}

// stampOf identifies a set of published advisories and their versions.
func stampOf(list []bot.Advisory) string {
	var b strings.Builder
	for _, a := range list {
		fmt.Fprintf(&b, "%d:%s:%d;", a.Incident, a.ID, a.Modified.UnixNano())
	}
	return b.String()
}

// Reload serves a fresh build when the published advisories changed since
// the last build: another process (`sectriage cmd`) published, and wrote
// the directory itself.
func (p *Publisher) Reload(ctx context.Context) error {
	list, err := p.svc.PublishedAdvisories(ctx)
	if err != nil {
		return err
	}
	if last := p.stamp.Load(); last != nil && *last == stampOf(list) {
		return nil
	}
	_, err = p.build(list)
	return err
}

// Publish publishes id now, or finishes a publication that failed half-way.
// A refusal (something missing, not allowed) is the error; an output that
// failed is in the report's Problems, the advisory being public already.
func (p *Publisher) Publish(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (bot.PublicationReport, error) {
	out, err := p.svc.PublishAdvisory(ctx, a, rule, id)
	if err != nil {
		return bot.PublicationReport{}, err
	}
	rec := out.Record
	rep := bot.PublicationReport{Advisory: rec.Draft, Published: out.Changed, ReporterTold: out.ReporterTold, Dir: p.opts.OutputDir}
	if rep.Files, err = p.Refresh(ctx); err != nil {
		p.log.Error("publication: pages", "incident", id, "err", err)
		rep.Problems = append(rep.Problems, "the pages and records: "+err.Error())
	}
	for _, list := range p.opts.Lists {
		if rec.HasAnnounced(list) {
			continue
		}
		if err := p.announce(ctx, rec.Draft, list); err != nil {
			p.log.Error("publication: announcement", "incident", id, "list", list, "err", err)
			rep.Problems = append(rep.Problems, "the announcement to "+list+": "+err.Error())
			continue
		}
		if err := p.svc.MarkAnnounced(ctx, id, list); err != nil {
			rep.Problems = append(rep.Problems, "recording the announcement to "+list+": "+err.Error())
		}
		rep.Announced = append(rep.Announced, list)
	}
	p.log.Info("published", "incident", id, "advisory", rec.Draft.ID, "files", len(rep.Files), "announced", len(rep.Announced), "problems", len(rep.Problems))
	return rep, nil
}

func (p *Publisher) announce(ctx context.Context, a bot.Advisory, list string) error {
	if p.opts.Mailer == nil {
		return fmt.Errorf("no outgoing mail server ([email.smtp])")
	}
	if p.opts.Signer == nil {
		return fmt.Errorf("no team key to sign with ([keys] team_key_file)")
	}
	mail, err := publish.SignAnnouncement(a, p.opts.Site, p.opts.Signer, time.Now())
	if err != nil {
		return err
	}
	return p.opts.Mailer.SendAnnouncement(ctx, list, mail.Subject, mail.Body)
}

// RunDue publishes the scheduled advisories whose time has come, as
// sectriage itself. One that cannot be published is reported to the
// team, and its schedule cleared.
func (p *Publisher) RunDue(ctx context.Context) error {
	ids, err := p.svc.DuePublications(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		rep, err := p.Publish(ctx, bot.SystemActor(), bot.SystemOnly, id)
		var problem string
		switch {
		case err != nil && bot.KindOf(err) == bot.KindInternal:
			return err
		case err != nil:
			problem = "the scheduled publication did not run: " + bot.UserMessage(err)
		case len(rep.Problems) > 0:
			problem = "published as " + rep.Advisory.ID + ", but these failed: " + strings.Join(rep.Problems, "; ") + "."
		default:
			continue
		}
		if err := p.svc.PublicationTrouble(ctx, id, problem); err != nil {
			return err
		}
	}
	return nil
}

// NotifyDistros sends the draft, encrypted to the distros list's key and
// signed by the team, once the service agrees (rule and 14 days), then
// records it.
func (p *Publisher) NotifyDistros(ctx context.Context, a bot.Actor, rule bot.Rule, id int64) (string, error) {
	inc, rec, err := p.svc.CheckDistros(ctx, a, rule, id)
	if err != nil {
		return "", err
	}
	list := p.opts.DistrosList
	key := keyFor(p.opts.KnownKeys, list)
	if key == nil {
		return "", bot.Errorf(bot.KindInvalid, "No key for %s among the known keys ([keys] known_keys_dir): add the list's public key first.", list)
	}
	if p.opts.Mailer == nil {
		return "", bot.Errorf(bot.KindInvalid, "Sending to the distros list needs an outgoing mail server: configure [email.smtp].")
	}
	// A preview of the advisory as it will be published at the embargo's
	// end: the same text the announcement will carry.
	d := rec.Draft.Clone()
	d.ID = fmt.Sprintf("%d-%d", inc.Embargo.UTC().Year(), inc.ID)
	d.Published, d.Modified = inc.Embargo, inc.Embargo
	subject, body, err := publish.AnnouncementText(d, p.opts.Site)
	if err != nil {
		return "", bot.Errorf(bot.KindInvalid, "The draft is not complete enough to send: %v.", err)
	}
	body = fmt.Sprintf("EMBARGOED until %s. Planned public date: %s.\n\n%s", inc.Embargo.UTC().Format(time.RFC3339), inc.Embargo.UTC().Format("2006-01-02 15:04 UTC"), body)
	if err := p.opts.Mailer.SendEncrypted(ctx, list, "[EMBARGOED] "+subject, []byte(body), key); err != nil {
		return "", fmt.Errorf("mailing the distros list: %w", err)
	}
	if _, err := p.svc.RecordDistros(ctx, a, rule, id, list); err != nil {
		return "", err
	}
	return list, nil
}

// keyFor finds the key with a user id for address that can encrypt.
func keyFor(keys openpgp.EntityList, address string) *openpgp.Entity {
	now := time.Now()
	for _, e := range keys {
		for _, id := range e.Identities {
			if id.UserId != nil && strings.EqualFold(id.UserId.Email, address) {
				if _, ok := e.EncryptionKey(now); ok {
					return e
				}
			}
		}
	}
	return nil
}
