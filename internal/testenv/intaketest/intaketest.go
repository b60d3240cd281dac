// Package intaketest gives tests of the command layer and the chat
// adapters a quarantine desk on real storage without OpenPGP: a decoder
// that accepts a message only once the key it names is configured, as
// when a report encrypted to a key the team has not set up yet arrives.
package intaketest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// Gate is the decoder. A message is "From:", "Message-ID:", "Key:" and
// "Subject:" header lines, an empty line and the body (see Mail); it is
// rejected as wrong-key until its Key is added. Sealing reverses the
// bytes, so a sealed copy is visibly not the plaintext.
type Gate struct {
	mu   sync.Mutex
	keys map[string]bool
}

// AddKey configures a key: messages naming it are accepted from now on.
func (g *Gate) AddKey(k string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys == nil {
		g.keys = map[string]bool{}
	}
	g.keys[k] = true
}

func (g *Gate) has(k string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keys[k]
}

// Mail is a message to key from sender; its body holds canary.
func Mail(key, from, subject, canary string) []byte {
	return []byte("From: " + from + "\nMessage-ID: <" + subject + "@example.net>\nKey: " + key + "\nSubject: " + subject +
		"\n\n" + canary + " body of " + subject + "\n")
}

func header(raw []byte) map[string]string {
	head, _, _ := strings.Cut(string(raw), "\n\n")
	h := map[string]string{}
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			h[k] = strings.TrimSpace(v)
		}
	}
	return h
}

// Envelope implements bot.ReportDecoder.
func (g *Gate) Envelope(raw []byte) bot.Envelope {
	h := header(raw)
	return bot.Envelope{Sender: h["From"], MessageID: h["Message-ID"]}
}

// Decode implements bot.ReportDecoder.
func (g *Gate) Decode(raw []byte) (*bot.Report, error) {
	h := header(raw)
	if !g.has(h["Key"]) {
		return nil, bot.Reject(bot.RejectWrongKey, "encrypted to %s, not to the team key", h["Key"])
	}
	_, body, _ := strings.Cut(string(raw), "\n\n")
	return &bot.Report{Subject: h["Subject"], From: h["From"],
		Parts: []bot.ReportPart{{Kind: bot.PartText, Encrypted: true, Text: body}}}, nil
}

// Seal implements bot.Sealer.
func (g *Gate) Seal(raw []byte) ([]byte, error) {
	out := bytes.Clone(raw)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// Unseal implements bot.Sealer.
func (g *Gate) Unseal(b []byte) ([]byte, error) { return g.Seal(b) }

// Hash implements bot.Sealer.
func (g *Gate) Hash(raw []byte) (string, error) {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:]), nil
}

// Store is what the desk needs: the storage package's DB.
type Store interface {
	bot.IntakeStore
	bot.QuarantineStore
}

// NewDesk makes the intake pipeline and quarantine desk on store, with a
// Gate as decoder and the given retention of dropped entries.
func NewDesk(svc *bot.Service, store Store, retention time.Duration) (*bot.Intake, *bot.QuarantineDesk, *Gate) {
	g := &Gate{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	in := bot.NewIntake(svc, store, g, g, nil, log, bot.IntakeOptions{})
	return in, bot.NewQuarantineDesk(in, store, retention, log), g
}
