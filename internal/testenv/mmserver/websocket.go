package mmserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// WebSocket is a test's view of a user's event stream. model.WebSocketClient
// deadlocks unless EventChannel, ResponseChannel and PingTimeoutChannel are
// all read, so a goroutine drains them into an unbounded queue that the
// test reads at its own pace.
type WebSocket struct {
	Client *model.WebSocketClient

	mu     sync.Mutex
	queue  []*model.WebSocketEvent
	wake   chan struct{} // signalled when queue grows
	closed chan struct{} // closed when the connection ends
	hello  chan struct{} // closed when the server's hello has arrived
}

// WebSocket connects with a session or access token, starts listening and
// returns once the server has said hello; t's cleanup closes it. The hello
// event stays the first one in the queue.
//
// The client authenticates with a message after connecting, and the server
// sends events to the connection only once it has registered it, which it
// announces with hello. Returning before that lost the events of whatever
// the test did next whenever the server was slow (a loaded machine).
func (s *Server) WebSocket(t testing.TB, token string) *WebSocket {
	t.Helper()
	c, err := model.NewWebSocketClient4(s.WebsocketURL(), token)
	if err != nil {
		t.Fatalf("mmserver: websocket: %v", err)
	}
	w := &WebSocket{Client: c, wake: make(chan struct{}, 1), closed: make(chan struct{}), hello: make(chan struct{})}
	c.Listen()
	go w.drain()
	t.Cleanup(w.Close)
	timeout := time.NewTimer(helloTimeout)
	defer timeout.Stop()
	select {
	case <-w.hello:
	case <-w.closed:
		t.Fatalf("mmserver: websocket closed before the server said hello (%v)", c.ListenError)
	case <-timeout.C:
		t.Fatalf("mmserver: no hello on the websocket within %v", helloTimeout)
	}
	return w
}

// helloTimeout bounds the wait for a new websocket to be registered: under
// load (CI runs every server-backed package at once) it takes seconds.
const helloTimeout = 30 * time.Second

func (w *WebSocket) drain() {
	c := w.Client
	defer close(w.closed)
	for {
		select {
		case ev, ok := <-c.EventChannel:
			if !ok { // the client closes it when the connection ends
				return
			}
			w.mu.Lock()
			w.queue = append(w.queue, ev)
			w.mu.Unlock()
			if ev.EventType() == model.WebsocketEventHello {
				w.sawHello()
			}
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case <-c.ResponseChannel:
		case <-c.PingTimeoutChannel:
		}
	}
}

func (w *WebSocket) sawHello() {
	select {
	case <-w.hello:
	default:
		close(w.hello)
	}
}

// Close ends the connection.
func (w *WebSocket) Close() { w.Client.Close() }

// Closed is closed when the connection has ended, for instance because the
// server stopped. The client does not reconnect: open a new WebSocket.
func (w *WebSocket) Closed() <-chan struct{} { return w.closed }

// WaitFor returns the first event not yet returned that matches, dropping
// the ones before it, and fails the test after timeout.
func (w *WebSocket) WaitFor(t testing.TB, timeout time.Duration, match func(*model.WebSocketEvent) bool) *model.WebSocketEvent {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		for len(w.queue) > 0 {
			ev := w.queue[0]
			w.queue = w.queue[1:]
			if match(ev) {
				w.mu.Unlock()
				return ev
			}
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.closed:
			// Events queued just before the close are still checked once.
			w.mu.Lock()
			n := len(w.queue)
			w.mu.Unlock()
			if n == 0 {
				t.Fatalf("mmserver: websocket closed while waiting for an event (%v)", w.Client.ListenError)
			}
		case <-deadline.C:
			t.Fatalf("mmserver: no matching websocket event within %v", timeout)
		}
	}
}

// Next returns the next event, whatever it is.
func (w *WebSocket) Next(t testing.TB, timeout time.Duration) *model.WebSocketEvent {
	t.Helper()
	return w.WaitFor(t, timeout, func(*model.WebSocketEvent) bool { return true })
}

// IsPosted returns a WaitFor matcher for the "posted" event of a post in
// channelID whose message contains text ("" matches any).
func IsPosted(channelID, text string) func(*model.WebSocketEvent) bool {
	return func(ev *model.WebSocketEvent) bool {
		if ev.EventType() != model.WebsocketEventPosted || ev.GetBroadcast().ChannelId != channelID {
			return false
		}
		post, err := postOf(ev)
		return err == nil && (text == "" || strings.Contains(post.Message, text))
	}
}

// PostOf decodes the post a "posted" event carries (as a JSON string).
func PostOf(t testing.TB, ev *model.WebSocketEvent) *model.Post {
	t.Helper()
	p, err := postOf(ev)
	if err != nil {
		t.Fatalf("mmserver: %v", err)
	}
	return p
}

func postOf(ev *model.WebSocketEvent) (*model.Post, error) {
	raw, ok := ev.GetData()["post"].(string)
	if !ok {
		return nil, fmt.Errorf("%s event carries no post", ev.EventType())
	}
	var p model.Post
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("decoding the post of a %s event: %w", ev.EventType(), err)
	}
	return &p, nil
}
