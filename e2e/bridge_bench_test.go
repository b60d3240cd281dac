package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/internal/testenv/ircnet"
)

// BenchmarkBridgeRelay measures the bridge between an incident's
// Mattermost and IRC channels: a message sent on one side → seen by a
// team member on the other, b.N messages each way, on a quiet incident
// (what its opening queued has gone out). Mattermost → IRC is read from
// the IRC server's time tag, IRC → Mattermost from the post's create_at,
// so the benchmark's own scheduling is not in the figure. IRC is paced
// ([irc] rate, here 10 lines then one a second): a gap of at least a
// second between messages keeps the pacing out of the figure.
//
//	CI=1 go test -run XXX -bench BridgeRelay -benchtime 20x ./e2e
func BenchmarkBridgeRelay(b *testing.B) {
	w := newWorld(b, settings{MaxBodyLines: 3, ChannelPerIncident: true, IRCChannelPerIncident: true}, nil)
	mmAlice := w.watchMattermost(b, "alice")
	ircAlice := w.ircUsers["alice"]
	d := startDaemon(b, w.config)
	d.waitReady(b, wait)
	if r := runBinary(b, w.report(b, "Bridged probe", "the body\n"), "ingest", "-config", w.config); r.code != 0 {
		b.Fatalf("ingest: exit %d %s", r.code, r.stderr)
	}
	const ch = "#sec-1"
	ircAlice.Seen(b, wait, fromBot("INVITE", "alice", ch))
	ircAlice.Join(ch, "")
	ircAlice.Seen(b, wait, ircnet.Cmd("JOIN", ch))
	post := mmAlice.waitPost(b, wait, "SEC-1 in its channel", w.byBot("P", "SEC-1", "Bridged probe"))
	alice := w.mm.UserClient(b, "alice")
	mmPost := func(msg string) time.Time {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		sent := time.Now()
		if _, _, err := alice.CreatePost(ctx, &model.Post{ChannelId: post.ChannelId, Message: msg}); err != nil {
			b.Fatal(err)
		}
		return sent
	}
	// Let the opening's queued lines go out: the first relay would wait
	// behind them at the IRC pace.
	mmPost("warm-up")
	ircAlice.Seen(b, time.Minute, fromBot("PRIVMSG", ch, "alice (mattermost): warm-up"))

	var toIRC, toMM []time.Duration
	b.ResetTimer()
	for i := range b.N {
		time.Sleep(1100 * time.Millisecond) // one IRC send token back
		sent := mmPost(fmt.Sprintf("relay %d from mattermost", i))
		l := ircAlice.Seen(b, wait, fromBot("PRIVMSG", ch, fmt.Sprintf("alice (mattermost): relay %d from mattermost", i)))
		toIRC = append(toIRC, serverTime(l).Sub(sent))

		sent = time.Now()
		ircAlice.Privmsg(ch, fmt.Sprintf("relay %d from irc", i))
		p := mmAlice.waitPost(b, wait, "a relay from IRC", w.byBot("P", "alice (irc): ", fmt.Sprintf("relay %d from irc", i)))
		toMM = append(toMM, time.UnixMilli(p.CreateAt).Sub(sent))
	}
	b.StopTimer()
	reportLatency(b, "mm-to-irc", toIRC)
	reportLatency(b, "irc-to-mm", toMM)
}
