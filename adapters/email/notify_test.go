package email_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
	"github.com/sectriage/sectriage/storage"
)

// TestMemberNotifiedByMail: erin is not on chat and asked for mail
// (notify = "email"). The ping of a new incident assigned to her is mailed,
// encrypted to her own key (gpg decrypts it), with nothing of the report
// outside the encryption; without her key nothing is sent.
func TestMemberNotifiedByMail(t *testing.T) {
	ctx := context.Background()
	f := newGPGFixture(t)
	erinKey := f.g.GenerateKey(t, "Erin", "erin@example.org", gpgtest.KeyOptions{})
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(erinKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "st.db"), discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	people, err := bot.NewPeople([]bot.Person{
		{Name: "alice", Role: bot.RoleOfficer, IRCAccount: "alice"},
		{Name: "erin", Role: bot.RoleMember, Email: "erin@example.org", Notify: bot.NotifyEmail, IRCAccount: "erin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.NewManualClock(t0), discard(), &bot.Settings{
		People: people, DefaultSIG: "core", Deadlines: bot.DefaultDeadlines(),
		SIGs: []*bot.SIG{{Name: "core", Lead: "erin", Contacts: []string{"erin"}}}, Platforms: []string{bot.PlatformIRC},
	})
	if _, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{Title: "CANARY-TITLE heap overflow", Reporter: "r@example.net"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := db.DueMessages(ctx, t0.Add(1e12), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ping *bot.OutboxMessage
	for i, m := range msgs {
		if m.Dest.Person == "erin" {
			if m.Dest.Platform != bot.PlatformEmail || m.Dest.Address != "erin@example.org" || ping != nil {
				t.Fatalf("erin, who asked for mail, gets %s", m.Dest)
			}
			ping = &msgs[i]
		}
	}
	if ping == nil {
		t.Fatal("no ping for erin")
	}

	sink := startSMTPSink(t)
	opts := email.SMTPOptions{Address: sink.addr, TLS: "starttls", RootCAs: sink.roots, From: "security@example.org", Timeout: 5 * time.Second}
	var perm *bot.PermanentError
	if err := email.NewMailer(opts, f.team, nil, discard()).Deliver(ctx, *ping); !asPermanent(err, &perm) || len(sink.received()) != 0 {
		t.Fatalf("without erin's key: %v, %d mails sent", err, len(sink.received()))
	}
	opts.MemberKeys = map[string]*openpgp.Entity{"erin": keys[0]}
	if err := email.NewMailer(opts, f.team, nil, discard()).Deliver(ctx, *ping); err != nil {
		t.Fatal(err)
	}
	mails := sink.received()
	if len(mails) != 1 || mails[0].to[0] != "erin@example.org" {
		t.Fatalf("mails: %+v", mails)
	}
	if bytes.Contains(mails[0].data, []byte("CANARY")) || bytes.Contains(mails[0].data, []byte("Reply-To")) {
		t.Errorf("the mail shows the title or offers a reply address:\n%s", mails[0].data)
	}
	decrypted, _ := f.g.Decrypt(t, armoredPayload(t, mails[0].data))
	plain := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(decrypted)) // quoted-printable soft breaks
	if !strings.Contains(string(plain), "CANARY-TITLE heap overflow") || !strings.Contains(string(plain), "claim 1") {
		t.Errorf("decrypted ping:\n%s", plain)
	}
}
