package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/internal/testenv"
	"github.com/sectriage/sectriage/storage"
)

// BenchmarkReportTx is intake's storage half alone: the decoder is a fake
// that reads the subject line, so what is measured is storing the message
// (8.5 KB of random bytes, the size of BenchmarkIngestCommitted's
// encrypted 20 KB report), opening its incident with its events and
// notices, queueing the acknowledgement and committing (synchronous=FULL),
// in a sealed database and in one never sealed. cpu-µs/msg is the
// process's CPU time per message, steadier than ns/op on a shared machine.
func BenchmarkReportTx(b *testing.B) {
	// The daemon's contexts end on a signal; the driver treats a context
	// that can end differently from context.Background().
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "sectriage.db")
			open := storage.Open
			if sealed {
				open = openSealed
			}
			db, err := open(ctx, path, discard())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			svc, _ := newService(b, db)
			st := svc.Settings()
			st.SIGs = append(st.SIGs, &bot.SIG{Name: "web", Lead: "alice"})
			st.ReporterMail = true
			dec := &fakeDecoder{}
			in := bot.NewIntake(svc, db, dec, dec, nil, discard(), bot.IntakeOptions{Acknowledge: true})
			rng := rand.New(rand.NewPCG(1, 2))
			msgs := make([][]byte, b.N)
			for i := range msgs {
				body := make([]byte, 8<<10)
				for j := range body {
					body[j] = byte('a' + rng.IntN(26))
				}
				msgs[i] = fmt.Appendf(nil, "Subject: report %d\n%s\nMessage-ID: <bench-%d-%d@example.net>", i, body, b.N, i)
			}
			b.ReportAllocs()
			cpu, sys := testenv.CPUTime(), testenv.SystemTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := in.Receive(ctx, bot.Submission{Source: bot.SourcePipe, Raw: msgs[i]})
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
