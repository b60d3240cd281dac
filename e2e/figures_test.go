package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/config"
	"github.com/sectriage/sectriage/storage"
	"github.com/sectriage/sectriage/teamkey"
)

// Start-up time and memory of the daemon, for the closing note:
//
//	CI=1 go test -run XXX -bench 'Startup|RSS' -benchtime 5x ./e2e

// BenchmarkStartup measures process start → ready, b.N starts of the
// daemon against running servers, on the same database: the log line
// "sectriage running" (config read, team key unlocked, database open),
// then each part's own "connected" line (readyLines), the last of which is
// ready. Where the daemon serves /readyz, the first 200 from it is
// reported too.
func BenchmarkStartup(b *testing.B) {
	w := newWorld(b, settings{MaxBodyLines: 25, ChannelPerIncident: true}, realisticKeys)
	byPart := map[string][]time.Duration{}
	var ready, readyz []time.Duration
	for range b.N {
		d := startDaemon(b, w.config)
		probe := probeReadyz(w.listen)
		var last time.Duration
		for _, r := range readyLines {
			at := d.waitLog(b, wait, r.parts...).At.Sub(d.started)
			byPart[r.part] = append(byPart[r.part], at)
			last = max(last, at)
		}
		ready = append(ready, last)
		if at, ok := probe.result(); ok {
			readyz = append(readyz, at.Sub(d.started))
		}
		d.stop(b)
	}
	reportLatency(b, "ready", ready)
	for _, r := range readyLines {
		b.ReportMetric(ms(median(byPart[r.part])), r.part+"-p50-ms")
	}
	if len(readyz) == len(ready) {
		reportLatency(b, "readyz", readyz)
	}
}

// readyzProbe polls GET /readyz from the daemon's start until it answers
// 200, or 404 (no such endpoint in this build).
type readyzProbe struct {
	done chan struct{}
	ok   bool
	at   time.Time
	stop context.CancelFunc
}

func probeReadyz(listen string) *readyzProbe {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	p := &readyzProbe{done: make(chan struct{}), stop: cancel}
	go func() {
		defer close(p.done)
		client := &http.Client{Timeout: time.Second}
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/readyz", nil)
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					p.ok, p.at = true, time.Now()
					return
				case http.StatusNotFound:
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// result waits for the probe's answer: when /readyz first said 200.
func (p *readyzProbe) result() (time.Time, bool) {
	<-p.done
	p.stop()
	return p.at, p.ok
}

// BenchmarkRSS reports the daemon's resident memory (VmRSS, and the peak,
// VmHWM, from /proc) when idle on an empty database, and after a restart
// on a database holding 10,000 incidents. The incidents are made directly
// in its database before the start, through bot.Service as intake commits
// them (state new, unacknowledged, no chat messages queued, no stored
// report), so every sweep reads all 10,000; sweeps run, and a
// `/sec list open` on Mattermost reads them, before memory is read.
// Idle means: ready, then 5 s without traffic. The measurement runs once
// whatever -benchtime says.
func BenchmarkRSS(b *testing.B) {
	// A sweep every 2 s: each reads all 10,000 (they are unacknowledged),
	// and several run while the daemon settles. (Sweeps log only when
	// they ping someone, so this cannot be waited for.)
	w := newWorld(b, settings{MaxBodyLines: 25, ChannelPerIncident: true, Sweep: "@every 2s"}, realisticKeys)
	settle := func(d *daemon) (rss, peak int64) {
		time.Sleep(5 * time.Second) // idle is a while of nothing happening
		return d.rssKiB(b)
	}
	d := startDaemon(b, w.config)
	d.waitReady(b, wait)
	idle, idlePeak := settle(d)
	d.stop(b)

	const n = 10000
	t0 := time.Now()
	w.fillIncidents(b, n)
	b.Logf("made %d incidents in %v", n, time.Since(t0).Round(time.Millisecond))
	d = startDaemon(b, w.config)
	d.waitReady(b, 2*wait)
	if resp := w.slash(b, "alice", "/sec list open"); resp.Text == "" {
		b.Fatalf("/sec list open: empty answer")
	}
	full, fullPeak := settle(d)
	d.stop(b)

	// Measured once, above; the sub-benchmark only reports, however often
	// the framework runs it.
	b.Run("10k", func(b *testing.B) {
		mib := func(kib int64) float64 { return float64(kib) / 1024 }
		b.ReportMetric(mib(idle), "idle-rss-MiB")
		b.ReportMetric(mib(idlePeak), "idle-peak-MiB")
		b.ReportMetric(mib(full), "10k-rss-MiB")
		b.ReportMetric(mib(fullPeak), "10k-peak-MiB")
		b.ReportMetric(0, "ns/op")
	})
}

// fillIncidents opens n incidents in the world's database, as intake would
// commit them, while the daemon is stopped. No chat platform is named, so
// nothing is queued to post: the figure is about holding them, not about
// posting 10,000 announcements.
func (w *world) fillIncidents(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	cfg, err := config.Load(w.config)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	db, err := storage.Open(ctx, filepath.Join(w.dir, "sectriage.db"), log)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// The database is sealed with the team key, as the daemon opens it.
	key, err := teamkey.Load(w.team.SecretKey, []byte(w.team.Passphrase))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Unlock(ctx, key); err != nil {
		b.Fatal(err)
	}
	st, err := cfg.Settings(nil)
	if err != nil {
		b.Fatal(err)
	}
	svc := bot.NewService(db, bot.SystemClock{}, log, st)
	svc.SetRoster(bot.NewDuty(svc, db, log))
	for i := range n {
		_, err := svc.OpenIncident(ctx, bot.SystemActor(), bot.NewIncident{
			Title: fmt.Sprintf("Filler report %d: heap overflow in the parser", i), Reporter: "rita@example.net", Encrypted: true,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
