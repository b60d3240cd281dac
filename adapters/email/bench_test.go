package email_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/sectriage/sectriage/adapters/email"
	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/internal/testenv/gpgtest"
)

// benchReport is a 20 KB report: prose with numbers, about as
// compressible as a real one.
func benchReport() string {
	rng := rand.New(rand.NewPCG(4, 2))
	words := strings.Fields("the parser reads a header field into a fixed buffer without checking its length so a long value overwrites the stack frame and the return address")
	var b strings.Builder
	for b.Len() < 20<<10 {
		for i := 0; i < 12; i++ {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(offset 0x%x)\n", rng.Uint32())
	}
	return b.String()
}

// BenchmarkDecryptVerify decrypts and verifies a signed and encrypted
// 20 KB PGP/MIME report made by gpg, in-process (the whole MIME decode)
// and with `gpg --decrypt` on the same OpenPGP message, alternating in one
// run so both see the same machine load. It reports both per message and
// their ratio.
func BenchmarkDecryptVerify(b *testing.B) {
	f := newGPGFixture(b)
	raw := f.g.PGPMIME(b, gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "bench", Body: benchReport()},
		[]*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{SignWith: f.reporter})
	payload := armoredPayload(b, raw)
	dec, err := email.NewDecoder(f.team, f.known, email.Limits{}, discard())
	if err != nil {
		b.Fatal(err)
	}
	// Warm up gpg-agent (the passphrase is cached after the first use) and check both agree.
	if r := f.g.TryDecrypt(payload); r.Err != nil || !r.Has("GOODSIG") {
		b.Fatalf("gpg: %v", r.Err)
	}
	var goTime, gpgTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rep, err := dec.Decode(raw)
		goTime += time.Since(start)
		if err != nil || rep.Signature.Status != bot.SigVerified {
			b.Fatalf("decode: %v %+v", err, rep)
		}
		start = time.Now()
		r := f.g.TryDecrypt(payload)
		gpgTime += time.Since(start)
		if r.Err != nil || !r.Has("GOODSIG") {
			b.Fatalf("gpg: %v", r.Err)
		}
	}
	b.ReportMetric(float64(goTime.Microseconds())/float64(b.N), "go-µs/msg")
	b.ReportMetric(float64(gpgTime.Microseconds())/float64(b.N), "gpg-µs/msg")
	b.ReportMetric(float64(gpgTime)/float64(goTime), "gpg/go")
}

// BenchmarkIngestCommitted is the in-process latency from a received
// 20 KB signed PGP/MIME message to its incident being committed (and
// synced: synchronous=FULL) in SQLite: store, decode, verify, route, open
// the incident, queue the acknowledgement. The team key is made by GnuPG
// with its default S2K count (65,011,712) and unlocked once, before the
// timer starts, as the daemon does. "sealed" is a database whose
// confidential columns are sealed with a data key (storage/seal.go),
// "plain" one without. cpu-µs/msg is the process's CPU time per message
// (user and system), steadier than ns/op on a shared machine, where the
// fsync's wait varies most.
func BenchmarkIngestCommitted(b *testing.B) {
	f := gpgFixtureIn(b, gpgtest.NewRealistic(b))
	raw := f.g.PGPMIME(b, gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", Subject: "bench", Body: benchReport(), MessageID: "bench-0@example.net"},
		[]*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{SignWith: f.reporter})
	// The daemon's contexts end on a signal; database/sql and the driver
	// treat a context that can end differently from context.Background().
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Unlock the team key once (decrypting is what needs it).
	if rep, err := newPipeline(b, f.team, pipelineOptions{known: f.known}).dec.Decode(raw); err != nil || rep.Signature.Status != bot.SigVerified {
		b.Fatalf("decode: %v", err)
	}
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			p := newPipeline(b, f.team, pipelineOptions{known: f.known, reporterMail: true, plain: !sealed})
			msgs := make([][]byte, b.N)
			for i := range msgs {
				msgs[i] = bytes.Replace(raw, []byte("<bench-0@example.net>"), []byte(fmt.Sprintf("<bench-%d-%d@example.net>", b.N, i)), 1)
			}
			b.ReportAllocs()
			cpu, sys := testenv.CPUTime(), testenv.SystemTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := p.in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: msgs[i]})
				if err != nil || res.IncidentID == 0 || res.Duplicate {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(float64((testenv.SystemTime()-sys).Microseconds())/float64(b.N), "sys-µs/msg")
		})
	}
}

// BenchmarkDecode is the decoder alone, as intake runs it on every
// message: Envelope, then Decode, of a 20 KB report made by gpg, the team
// key unlocked once before the timer. The messages differ in their
// Message-ID, as real ones do (the decoder remembers the last header).
// "combined" is signed and encrypted in one OpenPGP message (RFC 3156
// §6.2, Thunderbird), "signed-inner" a multipart/signed entity encrypted
// (§6.1, mutt). "floor" is what go-crypto alone takes for the combined
// message's OpenPGP part: armor, decrypt, verify, read to the end; the
// decoder cannot go below it.
func BenchmarkDecode(b *testing.B) {
	f := gpgFixtureIn(b, gpgtest.NewRealistic(b))
	mail := gpgtest.Mail{From: "Rita Reporter <reporter@example.net>", To: "security@example.org", Subject: "bench", Body: benchReport(), MessageID: "bench-0@example.net"}
	combined := f.g.PGPMIME(b, mail, []*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{SignWith: f.reporter})
	inner := f.g.PGPMIME(b, mail, []*gpgtest.Key{f.teamG}, gpgtest.MIMEOptions{SignWith: f.reporter, SignedInner: true})
	dec, err := email.NewDecoder(f.team, f.known, email.Limits{}, discard())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"combined", combined}, {"signed-inner", inner}} {
		if rep, err := dec.Decode(c.raw); err != nil || rep.Signature.Status != bot.SigVerified { // unlocks the key
			b.Fatalf("%s: %v %+v", c.name, err, rep)
		}
		msgs := make([][]byte, 16)
		for i := range msgs {
			msgs[i] = bytes.Replace(c.raw, []byte("<bench-0@example.net>"), []byte(fmt.Sprintf("<bench-%d@example.net>", i)), 1)
		}
		if bytes.Equal(msgs[0], msgs[1]) {
			b.Fatal("the messages do not differ")
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := testenv.CPUTime()
			i := 0
			for b.Loop() {
				raw := msgs[i%len(msgs)]
				i++
				env := dec.Envelope(raw)
				rep, err := dec.Decode(raw)
				if err != nil || env.MessageID == "" || rep.Signature.Status != bot.SigVerified || len(rep.Parts) != 1 {
					b.Fatalf("%v %+v %+v", err, env, rep)
				}
			}
			b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
	b.Run("floor", func(b *testing.B) {
		payload := armoredPayload(b, combined)
		ring := append(f.team.DecryptionKeyring(), f.known...)
		b.ReportAllocs()
		cpu := testenv.CPUTime()
		for b.Loop() {
			block, err := armor.Decode(bytes.NewReader(payload))
			if err != nil {
				b.Fatal(err)
			}
			md, err := openpgp.ReadMessage(block.Body, ring, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, md.UnverifiedBody); err != nil || md.SignatureError != nil {
				b.Fatal(err, md.SignatureError)
			}
		}
		b.ReportMetric(float64((testenv.CPUTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/msg")
	})
}
