package email_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/sectriage/sectriage/adapters/email"
)

// TestEnvelopeThenDecodeOfAnotherMessage: Decode reuses the header
// Envelope parsed only for the same header bytes. Whatever order
// Envelope and Decode see messages in, from one goroutine or many, each
// message decodes to its own sender, subject and text.
func TestEnvelopeThenDecodeOfAnotherMessage(t *testing.T) {
	dec, err := email.NewDecoder(fuzzTeam(t), nil, fuzzLimits, discard())
	if err != nil {
		t.Fatal(err)
	}
	msg := func(i int, body string) []byte {
		return []byte(fmt.Sprintf("From: r%d@example.net\r\nSubject: s%d\r\nMessage-ID: <m%d@example.net>\r\n\r\n%s\r\n", i%3, i%3, i%3, body))
	}
	check := func(i int, raw []byte, body string) error {
		env := dec.Envelope(raw)
		if want := fmt.Sprintf("r%d@example.net", i%3); env.Sender != want {
			return fmt.Errorf("message %d: envelope sender %q, want %q", i, env.Sender, want)
		}
		rep, err := dec.Decode(raw)
		if err != nil {
			return err
		}
		if rep.From != env.Sender || rep.Subject != fmt.Sprintf("s%d", i%3) || !strings.Contains(rep.Parts[0].Text, body) {
			return fmt.Errorf("message %d: %q %q %q", i, rep.From, rep.Subject, rep.Parts[0].Text)
		}
		return nil
	}
	// The same header with another body, then another header.
	for i, body := range []string{"first", "second", "third"} {
		if err := check(0, msg(0, body), body); err != nil {
			t.Fatal(err)
		}
		if err := check(i+1, msg(i+1, body), body); err != nil {
			t.Fatal(err)
		}
	}
	// Envelope of one message, Decode of another.
	a, b := msg(1, "of a"), msg(2, "of b")
	dec.Envelope(a)
	if rep, err := dec.Decode(b); err != nil || rep.From != "r2@example.net" || rep.Subject != "s2" {
		t.Fatalf("%+v %v", rep, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				body := fmt.Sprintf("body %d/%d", g, i)
				if err := check(g+i, msg(g+i, body), body); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
