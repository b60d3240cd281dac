package mattermost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/commands"
)

// The websocket carries direct messages to the bot (commands without the
// slash) and the channel changes the privacy checks watch for. The model's
// client does not reconnect, so a dropped connection is replaced by a new
// client: as soon as the server answers again when it had stopped
// answering (probed each probeEvery), else after a backoff.

// stableAfter is how long a connection must last for the backoff to
// start again from its minimum.
const stableAfter = time.Minute

// probeEvery is how often a server that does not answer is asked for its
// ping while the websocket is down.
const probeEvery = time.Second

// resume identifies a websocket connection to the server, which keeps
// the events of a dropped connection for a while and replays them when
// the client reconnects with the connection id and the next sequence
// number. After a server restart it starts a new connection instead.
type resume struct {
	connID string
	next   int64
}

// listen keeps a websocket open until ctx ends.
func (a *Adapter) listen(ctx context.Context) error {
	bo := a.backoff()
	var r resume
	for {
		started := time.Now()
		hello, err := a.session(ctx, &r)
		if ctx.Err() != nil {
			return nil
		}
		if hello && time.Since(started) > stableAfter {
			bo.reset()
		}
		if !a.answers(ctx) {
			a.log.Warn("websocket closed and the server does not answer; waiting for it", "err", err)
			if !a.awaitServer(ctx) {
				return nil
			}
			a.log.Info("the server answers again; reconnecting the websocket")
			bo.reset()
			continue
		}
		d := bo.next()
		a.log.Warn("websocket closed; reconnecting", "in", d.Round(time.Millisecond), "err", err)
		if !wait(ctx, d) {
			return nil
		}
	}
}

// answers reports whether the server answers its ping now.
func (a *Adapter) answers(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, min(a.opts.RequestTimeout, 5*time.Second))
	defer cancel()
	_, resp, err := a.client.GetPing(pctx)
	return err == nil && resp != nil && resp.StatusCode == http.StatusOK
}

// awaitServer returns true once the server answers its ping, or false when
// ctx ends.
func (a *Adapter) awaitServer(ctx context.Context) bool {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if a.answers(ctx) {
			return true
		}
	}
}

// session runs one websocket connection. It reports whether the server
// said hello (the token was accepted).
func (a *Adapter) session(ctx context.Context, r *resume) (bool, error) {
	c, err := a.current()
	if err != nil {
		return false, err
	}
	var nd net.Dialer
	dialer := &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: a.opts.RequestTimeout,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return quickAck(c), nil
		}}
	ws, err := model.NewReliableWebSocketClientWithDialer(dialer, wsURL(a.opts.URL), a.opts.Token, r.connID, int(r.next), true)
	if err != nil {
		return false, err
	}
	ws.Listen()
	defer closeWebSocket(ws)
	defer a.wsUp.Store(false)
	live := &liveSession{done: make(chan struct{})}
	defer func() {
		a.live.CompareAndSwap(live, nil)
		close(live.done)
		a.verdicts.session(false)
	}()
	hello := false
	// take handles one event; it reports false when the connection closed.
	take := func(ev *model.WebSocketEvent) {
		if ev.EventType() == model.WebsocketEventHello {
			id, _ := ev.GetData()["connection_id"].(string)
			resumed := id != "" && id == r.connID
			if id != r.connID {
				r.connID = id
			}
			r.next = ev.GetSequence() + 1
			// Verdicts made before this hello are not kept across it.
			a.verdicts.session(true)
			if !hello {
				a.log.Info("websocket connected", "resumed", resumed)
				hello = true
				a.wsUp.Store(true)
				a.live.Store(live)
				if !resumed {
					// Changes and direct messages missed while
					// disconnected show up now. On this connection, as a
					// copy: take goes on updating c.
					c := c
					a.goBackground(func() { a.recheckChannels(ctx, c) })
					a.goBackground(func() { a.catchUp(ctx, c) })
				}
				if a.opts.Outbox != nil {
					// Messages pushed back while the server was away
					// go now, not after the outbox's backoff.
					a.goBackground(func() {
						if err := a.opts.Outbox.Resume(ctx, bot.PlatformMattermost); err != nil {
							a.log.Warn("could not resume the outbox", "err", err)
						}
					})
				}
				select {
				case a.hello <- struct{}{}:
				default:
				}
			}
			return
		}
		// A missed event, or one that may change a channel's privacy,
		// ends every kept verdict before anything else sees the event.
		if ev.GetSequence() != r.next || !verdictNeutral[ev.EventType()] {
			a.verdicts.drop()
		}
		r.next = ev.GetSequence() + 1
		if cur, err := a.current(); err == nil {
			c = cur // the people as last resolved (Refresh)
		}
		a.onEvent(ctx, c, ev)
	}
	closed := func() error {
		if ws.ListenError != nil {
			return ws.ListenError
		}
		return errors.New("connection closed")
	}
	for {
		select {
		case <-ctx.Done():
			return hello, nil
		case ev, ok := <-ws.EventChannel:
			if !ok {
				return hello, closed()
			}
			take(ev)
		case r, ok := <-ws.ResponseChannel:
			if !ok {
				continue
			}
			if r.Status == model.StatusFail {
				msg := "rejected"
				if r.Error != nil {
					msg = r.Error.Error()
				}
				return hello, fmt.Errorf("websocket request %d failed: %s", r.SeqReply, msg)
			}
		case <-ws.PingTimeoutChannel:
			return hello, errors.New("no ping from the server")
		}
	}
}

// closeWebSocket closes the connection and drains the client's channels
// until its reader has stopped: the client blocks on full channels, and
// Close itself can block behind a stuck write.
func closeWebSocket(ws *model.WebSocketClient) {
	ws.Conn.Close()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-ws.EventChannel:
			if !ok {
				return
			}
		case <-ws.ResponseChannel:
		case <-ws.PingTimeoutChannel:
		case <-timeout.C:
			return
		}
	}
}

func wsURL(httpURL string) string {
	if rest, ok := strings.CutPrefix(httpURL, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(httpURL, "http://")
}

func (a *Adapter) onEvent(ctx context.Context, c *connection, ev *model.WebSocketEvent) {
	switch ev.EventType() {
	case model.WebsocketEventPosted:
		a.onPosted(ctx, c, ev)
	case model.WebsocketEventPostEdited, model.WebsocketEventPostDeleted:
		a.onPostChanged(ctx, c, ev)
	case model.WebsocketEventChannelConverted, model.WebsocketEventChannelUpdated, model.WebsocketEventChannelDeleted,
		model.WebsocketEventUserAdded, model.WebsocketEventUserRemoved:
		// These fetch from the API: off the read loop.
		a.goBackground(func() { a.onChannelEvent(ctx, c, ev) })
	case model.WebsocketEventPreferencesChanged:
		a.onPreferences(c, ev)
	}
}

// onPosted takes a post the websocket brought.
func (a *Adapter) onPosted(ctx context.Context, c *connection, ev *model.WebSocketEvent) {
	data := ev.GetData()
	var post model.Post
	if err := decodeJSONString(data["post"], &post); err != nil {
		return
	}
	if post.GetProp(model.PostPropsFromWebhook) == "true" {
		a.pending.seen(post.ChannelId, post.UserId) // perhaps a command's answer
	}
	t, _ := data["channel_type"].(string)
	a.takePost(ctx, c, &post, model.ChannelType(t))
}

// takePost runs a direct message to the bot as a command: "claim 42",
// "/sec claim 42" and "!claim 42" alike. Live posts and those fetched by a
// catch-up come through here alike; each post is claimed in the database
// first, so it runs once however often it is seen. It reports whether the
// post was taken now.
func (a *Adapter) takePost(ctx context.Context, c *connection, post *model.Post, channelType model.ChannelType) bool {
	if post.UserId == c.botID || post.Type != "" || post.GetProp(model.PostPropsFromBot) == "true" || post.GetProp(model.PostPropsFromWebhook) == "true" {
		return false // never answer itself, system messages or other bots
	}
	if id := a.incidentOf(post.ChannelId); id != 0 && channelType == model.ChannelTypePrivate {
		return a.takeIncidentPost(ctx, c, post, id)
	}
	if channelType != model.ChannelTypeDirect {
		return false
	}
	line, _ := commands.Normalize(post.Message, "/"+a.opts.Trigger, "!", "")
	if line == "" {
		return false
	}
	fresh, err := a.store.ClaimMattermostPost(ctx, post.Id, post.ChannelId, time.UnixMilli(post.CreateAt))
	if err != nil {
		// Unrecorded, it could run again after a reconnect: better once late.
		a.log.Error("cannot record a direct message as taken; not running it", "err", err)
		return false
	}
	if !fresh {
		return false
	}
	actor := bot.Actor{Person: a.person(c, post.UserId), Platform: bot.PlatformMattermost}
	channelID := post.ChannelId
	a.goBackground(func() {
		// A direct channel reaches only that user: report content may show.
		reply := a.runner.Run(ctx, actor, line, true)
		m := bot.OutboxMessage{Text: reply.Text, Confidential: reply.Confidential}
		if _, err := a.verifyChannel(ctx, c, channelID, reply.Confidential); err != nil {
			a.log.Warn("cannot answer a direct message", "err", err)
			return
		}
		// The answer goes straight back: the question came over the
		// websocket, so the server is up; a failure is logged.
		if err := a.postText(ctx, c, m, channelID, reply.Text, 0, ""); err != nil {
			a.log.Warn("cannot answer a direct message", "err", err)
		}
		a.refreshAfter(ctx, line, 0, reply)
	})
	return true
}

// decodeJSONString decodes an event field that holds JSON as a string.
func decodeJSONString(v any, into any) error {
	s, ok := v.(string)
	if !ok {
		return errors.New("not a JSON string")
	}
	return json.Unmarshal([]byte(s), into)
}
