package mattermost

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// fake is a strict stand-in for the Mattermost API, built from the real
// model types, for fast unit tests: every call needs the bot's bearer
// token, private channels the bot is not in answer 403, posts over the
// size limit 400, and the websocket demands its authentication challenge
// before it says hello.
type fake struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	botID    string
	team     *model.Team
	users    map[string]*model.User // by id
	channels map[string]*fakeChannel
	posts    map[string]*model.Post
	order    []string // post ids in creation order
	fail     int      // the next fail post creations answer 500...
	failFrom int      // ...once this many more have succeeded
	conns    []*websocket.Conn
	wsSeq    int64
	accepted chan struct{} // one per authenticated websocket
	hooks    chan []byte   // bodies posted to /hooks/commands/
	posted   chan *model.Post
	dialogs  chan model.OpenDialogRequest // interactive dialogs opened

	gets map[string]int // GET /channels/{id} calls, by channel

	failAdds  int            // the next failAdds member additions answer 503
	adds      int            // member additions asked for (calls)
	membersAt map[string]int // post id → members of its channel when it was made

	// While holding, events queue (as on the server's hub) instead of
	// being written; the websocket's replies still go at once.
	holding bool
	held    []*model.WebSocketEvent
	prefs   chan model.Preferences // each preferences save, as it arrives
}

type fakeChannel struct {
	ch      *model.Channel
	members map[string]bool
}

func newFake(t testing.TB) *fake {
	f := &fake{
		t: t, token: model.NewId(), users: map[string]*model.User{}, channels: map[string]*fakeChannel{},
		posts: map[string]*model.Post{}, accepted: make(chan struct{}, 100), hooks: make(chan []byte, 10),
		posted: make(chan *model.Post, 1000), dialogs: make(chan model.OpenDialogRequest, 10),
		prefs: make(chan model.Preferences, 1000),
	}
	f.team = &model.Team{Id: model.NewId(), Name: "security", DisplayName: "Security", Type: model.TeamOpen}
	f.botID = f.addUser("sectriage", true)
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /api/v4/users/me":                                 f.me,
		"POST /api/v4/users/usernames":                         f.usersByNames,
		"POST /api/v4/users/ids":                               f.usersByIDs,
		"GET /api/v4/teams/name/{name}":                        f.teamByName,
		"GET /api/v4/teams/{team}/members/{user}":              f.teamMember,
		"GET /api/v4/teams/{team}/channels/name/{name}":        f.channelByName,
		"GET /api/v4/channels/{id}":                            f.channel,
		"GET /api/v4/channels/{id}/members":                    f.channelMembers,
		"GET /api/v4/channels/{id}/members/{user}":             f.channelMember,
		"POST /api/v4/channels":                                f.createChannel,
		"POST /api/v4/channels/{id}/members":                   f.addMember,
		"POST /api/v4/channels/direct":                         f.direct,
		"POST /api/v4/posts":                                   f.createPost,
		"PUT /api/v4/posts/{id}":                               f.updatePost,
		"POST /api/v4/files":                                   f.upload,
		"GET /api/v4/commands":                                 f.commands,
		"POST /api/v4/actions/dialogs/open":                    f.openDialog,
		"PUT /api/v4/users/{id}/preferences":                   f.savePreferences,
		"GET /api/v4/users/{id}/teams/{team}/channels/members": f.notFound,
	} {
		mux.Handle(pattern, f.authed(h))
	}
	mux.HandleFunc("GET /api/v4/websocket", f.websocket)
	mux.HandleFunc("GET /api/v4/system/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"OK"}`)
	})
	mux.HandleFunc("POST /hooks/commands/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.hooks <- b
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.close)
	return f
}

func (f *fake) openDialog(w http.ResponseWriter, r *http.Request) {
	var req model.OpenDialogRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.TriggerId == "" || req.URL == "" {
		appError(w, 400, "bad_dialog")
		return
	}
	f.dialogs <- req
	reply(w, 200, map[string]string{"status": "OK"})
}

func (f *fake) close() {
	f.dropWebSockets()
	f.srv.Close()
}

func (f *fake) addUser(name string, isBot bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &model.User{Id: model.NewId(), Username: name, IsBot: isBot}
	f.users[u.Id] = u
	return u.Id
}

func (f *fake) addChannel(name string, typ model.ChannelType, members ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := &model.Channel{Id: model.NewId(), TeamId: f.team.Id, Name: name, Type: typ, UpdateAt: model.GetMillis()}
	fc := &fakeChannel{ch: ch, members: map[string]bool{}}
	for _, m := range members {
		fc.members[m] = true
	}
	f.channels[ch.Id] = fc
	return ch.Id
}

// postsIn returns the posts of a channel in creation order.
func (f *fake) postsIn(channelID string) []*model.Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*model.Post
	for _, id := range f.order {
		if p := f.posts[id]; p.ChannelId == channelID {
			out = append(out, p.Clone())
		}
	}
	return out
}

func (f *fake) failNextPosts(n int) { f.failPostsAfter(0, n) }

// failPostsAfter lets ok post creations succeed, then fails n: a server
// that goes away in the middle of a message of several posts.
func (f *fake) failPostsAfter(ok, n int) {
	f.mu.Lock()
	f.failFrom, f.fail = ok, n
	f.mu.Unlock()
}

func appError(w http.ResponseWriter, status int, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(model.NewAppError("fake", id, nil, "", status))
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fake) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server takes "Bearer" in any case (Client4 sends BEARER).
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || tok != f.token {
			appError(w, http.StatusUnauthorized, "api.context.session_expired.app_error")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		h(w, r)
	})
}

func (f *fake) notFound(w http.ResponseWriter, r *http.Request) { appError(w, 404, "not_found") }

func (f *fake) me(w http.ResponseWriter, r *http.Request) { reply(w, 200, f.users[f.botID]) }

func (f *fake) usersByNames(w http.ResponseWriter, r *http.Request) {
	var names []string
	_ = json.NewDecoder(r.Body).Decode(&names)
	out := []*model.User{}
	for _, u := range f.users {
		for _, n := range names {
			if u.Username == n {
				out = append(out, u)
			}
		}
	}
	reply(w, 200, out)
}

func (f *fake) usersByIDs(w http.ResponseWriter, r *http.Request) {
	var ids []string
	_ = json.NewDecoder(r.Body).Decode(&ids)
	out := []*model.User{}
	for _, id := range ids {
		if u, ok := f.users[id]; ok {
			out = append(out, u)
		}
	}
	reply(w, 200, out)
}

func (f *fake) teamByName(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("name") != f.team.Name {
		appError(w, 404, "app.team.get_by_name.missing.app_error")
		return
	}
	reply(w, 200, f.team)
}

func (f *fake) teamMember(w http.ResponseWriter, r *http.Request) {
	reply(w, 200, &model.TeamMember{TeamId: f.team.Id, UserId: r.PathValue("user")})
}

// visible returns a channel the bot may see: public ones and those it is
// in; a private channel it is not in is forbidden, as on the server.
func (f *fake) visible(w http.ResponseWriter, fc *fakeChannel) bool {
	if fc == nil {
		appError(w, 404, "app.channel.get.existing.app_error")
		return false
	}
	if fc.ch.Type != model.ChannelTypeOpen && !fc.members[f.botID] {
		appError(w, 403, "api.context.permissions.app_error")
		return false
	}
	return true
}

func (f *fake) channelByName(w http.ResponseWriter, r *http.Request) {
	for _, fc := range f.channels {
		if fc.ch.Name == r.PathValue("name") && fc.ch.TeamId == r.PathValue("team") {
			if fc.ch.Type != model.ChannelTypeOpen && !fc.members[f.botID] {
				break // the server hides private channels: not found
			}
			reply(w, 200, fc.ch)
			return
		}
	}
	appError(w, 404, "app.channel.get_by_name.missing.app_error")
}

func (f *fake) channel(w http.ResponseWriter, r *http.Request) {
	if f.gets == nil { // f.mu is held (authed)
		f.gets = map[string]int{}
	}
	f.gets[r.PathValue("id")]++
	if fc := f.channels[r.PathValue("id")]; f.visible(w, fc) {
		reply(w, 200, fc.ch)
	}
}

func (f *fake) channelMembers(w http.ResponseWriter, r *http.Request) {
	fc := f.channels[r.PathValue("id")]
	if !f.visible(w, fc) {
		return
	}
	out := model.ChannelMembers{}
	if page, _ := strconv.Atoi(r.URL.Query().Get("page")); page == 0 {
		for id := range fc.members {
			out = append(out, model.ChannelMember{ChannelId: fc.ch.Id, UserId: id})
		}
	}
	reply(w, 200, out)
}

func (f *fake) channelMember(w http.ResponseWriter, r *http.Request) {
	fc := f.channels[r.PathValue("id")]
	if !f.visible(w, fc) {
		return
	}
	if !fc.members[r.PathValue("user")] {
		appError(w, 404, "app.channel.get_member.missing.app_error")
		return
	}
	reply(w, 200, &model.ChannelMember{ChannelId: fc.ch.Id, UserId: r.PathValue("user")})
}

func (f *fake) createChannel(w http.ResponseWriter, r *http.Request) {
	var ch model.Channel
	if err := json.NewDecoder(r.Body).Decode(&ch); err != nil || ch.Name == "" || ch.TeamId != f.team.Id {
		appError(w, 400, "api.channel.create_channel.invalid")
		return
	}
	for _, fc := range f.channels {
		if fc.ch.Name == ch.Name {
			appError(w, 400, "store.sql_channel.save_channel.exists.app_error")
			return
		}
	}
	ch.Id, ch.CreatorId, ch.UpdateAt = model.NewId(), f.botID, model.GetMillis()
	f.channels[ch.Id] = &fakeChannel{ch: &ch, members: map[string]bool{f.botID: true}}
	reply(w, 201, &ch)
}

func (f *fake) addMember(w http.ResponseWriter, r *http.Request) {
	fc := f.channels[r.PathValue("id")]
	if !f.visible(w, fc) {
		return
	}
	f.adds++
	if f.failAdds > 0 {
		f.failAdds--
		appError(w, 503, "app.channel.save_member.app_error")
		return
	}
	// One user_id, or user_ids: as Mattermost, those it can add are
	// added, and it fails only if it added nobody.
	var body struct {
		UserID  string   `json:"user_id"`
		UserIDs []string `json:"user_ids"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if body.UserIDs == nil {
		if f.users[body.UserID] == nil {
			appError(w, 400, "api.channel.add_member.missing")
			return
		}
		fc.members[body.UserID] = true
		reply(w, 201, &model.ChannelMember{ChannelId: fc.ch.Id, UserId: body.UserID})
		return
	}
	added := []*model.ChannelMember{}
	for _, id := range body.UserIDs {
		if f.users[id] != nil {
			fc.members[id] = true
			added = append(added, &model.ChannelMember{ChannelId: fc.ch.Id, UserId: id})
		}
	}
	if len(added) == 0 {
		appError(w, 400, "api.channel.add_member.missing")
		return
	}
	reply(w, 201, added)
}

func (f *fake) direct(w http.ResponseWriter, r *http.Request) {
	var ids []string
	if err := json.NewDecoder(r.Body).Decode(&ids); err != nil || len(ids) != 2 || f.users[ids[0]] == nil || f.users[ids[1]] == nil {
		appError(w, 400, "api.channel.create_direct_channel.invalid")
		return
	}
	name := model.GetDMNameFromIds(ids[0], ids[1])
	for _, fc := range f.channels {
		if fc.ch.Name == name {
			reply(w, 201, fc.ch)
			return
		}
	}
	ch := &model.Channel{Id: model.NewId(), Name: name, Type: model.ChannelTypeDirect}
	f.channels[ch.Id] = &fakeChannel{ch: ch, members: map[string]bool{ids[0]: true, ids[1]: true}}
	reply(w, 201, ch)
}

func (f *fake) createPost(w http.ResponseWriter, r *http.Request) {
	var p model.Post
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		appError(w, 400, "api.context.invalid_body_param.app_error")
		return
	}
	fc := f.channels[p.ChannelId]
	if fc == nil || !fc.members[f.botID] {
		appError(w, 403, "api.context.permissions.app_error")
		return
	}
	if utf8.RuneCountInString(p.Message) > model.PostMessageMaxRunesV2 {
		appError(w, 400, "model.post.is_valid.message_length.app_error")
		return
	}
	if f.fail > 0 && f.failFrom > 0 {
		f.failFrom--
	} else if f.fail > 0 {
		f.fail--
		appError(w, 500, "app.post.save.app_error")
		return
	}
	p.Id, p.UserId, p.CreateAt = model.NewId(), f.botID, model.GetMillis()
	if f.membersAt == nil {
		f.membersAt = map[string]int{}
	}
	f.membersAt[p.Id] = len(fc.members)
	f.posts[p.Id] = &p
	f.order = append(f.order, p.Id)
	select {
	case f.posted <- p.Clone():
	default:
	}
	reply(w, 201, &p)
}

func (f *fake) updatePost(w http.ResponseWriter, r *http.Request) {
	var p model.Post
	old := f.posts[r.PathValue("id")]
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || old == nil {
		appError(w, 400, "api.context.invalid_body_param.app_error")
		return
	}
	old.Message, old.EditAt = p.Message, model.GetMillis()
	old.SetProps(p.GetProps())
	reply(w, 200, old)
}

func (f *fake) upload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		appError(w, 400, "api.file.upload_file.parse.app_error")
		return
	}
	reply(w, 201, &model.FileUploadResponse{FileInfos: []*model.FileInfo{{Id: model.NewId(), Name: "file"}}})
}

func (f *fake) commands(w http.ResponseWriter, r *http.Request) {
	appError(w, 403, "api.context.permissions.app_error")
}

// websocket accepts the upgrade, then requires the authentication
// challenge as the first message, like the server.
func (f *fake) websocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	var req model.WebSocketRequest
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&req); err != nil || req.Action != string(model.WebsocketAuthenticationChallenge) || req.Data["token"] != f.token {
		_ = conn.WriteJSON(&model.WebSocketResponse{Status: model.StatusFail, SeqReply: req.Seq,
			Error: model.NewAppError("fake", "api.web_socket_router.not_authenticated.app_error", nil, "", 401)})
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	_ = conn.WriteJSON(&model.WebSocketResponse{Status: model.StatusOk, SeqReply: req.Seq})
	f.mu.Lock()
	f.conns = append(f.conns, conn)
	f.mu.Unlock()
	hello := model.NewWebSocketEvent(model.WebsocketEventHello, "", "", f.botID, nil, "")
	hello.Add("connection_id", model.NewId())
	f.send(hello)
	f.accepted <- struct{}{}
	go func() { // answer "ping" requests, refuse others, as the server does
		for {
			var req model.WebSocketRequest
			if err := conn.ReadJSON(&req); err != nil {
				return
			}
			resp := &model.WebSocketResponse{Status: model.StatusOk, SeqReply: req.Seq, Data: map[string]any{"text": "pong"}}
			if req.Action != "ping" {
				resp = &model.WebSocketResponse{Status: model.StatusFail, SeqReply: req.Seq,
					Error: model.NewAppError("fake", "api.web_socket_router.bad_action.app_error", nil, "", 500)}
			}
			f.mu.Lock() // one writer at a time, in order with the events
			_ = conn.WriteJSON(resp)
			f.mu.Unlock()
		}
	}()
}

// savePreferences saves the bot's own preferences and publishes
// preferences_changed to it, as the server does (app.UpdatePreferences):
// behind any event queued before.
func (f *fake) savePreferences(w http.ResponseWriter, r *http.Request) {
	var prefs model.Preferences
	if err := json.NewDecoder(r.Body).Decode(&prefs); err != nil {
		appError(w, 400, "api.context.invalid_body_param.app_error")
		return
	}
	for _, p := range prefs {
		if r.PathValue("id") != f.botID || p.UserId != f.botID {
			appError(w, 403, "api.context.permissions.app_error")
			return
		}
	}
	select {
	case f.prefs <- prefs:
	default:
	}
	b, _ := json.Marshal(prefs)
	ev := model.NewWebSocketEvent(model.WebsocketEventPreferencesChanged, "", "", f.botID, nil, "")
	ev.Add("preferences", string(b))
	f.sendLocked(ev) // handlers run holding f.mu
	reply(w, 200, map[string]string{"status": "OK"})
}

// hold queues the events sent from now on until release writes them, in
// order: as a busy hub does, while the websocket's replies overtake them.
func (f *fake) hold() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holding = true
}

func (f *fake) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holding = false
	for _, ev := range f.held {
		f.write(ev)
	}
	f.held = nil
}

// send pushes an event to every open websocket.
func (f *fake) send(ev *model.WebSocketEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sendLocked(ev)
}

func (f *fake) sendLocked(ev *model.WebSocketEvent) {
	if f.holding {
		f.held = append(f.held, ev)
		return
	}
	f.write(ev)
}

func (f *fake) write(ev *model.WebSocketEvent) {
	ev = ev.SetSequence(f.wsSeq)
	f.wsSeq++
	b, err := ev.ToJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, c := range f.conns {
		_ = c.WriteMessage(websocket.TextMessage, b)
	}
}

// dropWebSockets cuts every websocket without a closing handshake.
func (f *fake) dropWebSockets() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.UnderlyingConn().Close()
	}
	f.conns = nil
}

func (f *fake) waitWebSocket(t testing.TB) {
	t.Helper()
	select {
	case <-f.accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("no websocket connection to the fake")
	}
}

// directPost sends the bot a "posted" event for a direct message.
func (f *fake) directPost(from, channelID, message string) {
	p := &model.Post{Id: model.NewId(), UserId: from, ChannelId: channelID, Message: message, CreateAt: model.GetMillis()}
	b, _ := json.Marshal(p)
	ev := model.NewWebSocketEvent(model.WebsocketEventPosted, "", channelID, "", nil, "")
	ev.Add("post", string(b))
	ev.Add("channel_type", string(model.ChannelTypeDirect))
	f.send(ev)
}

// waitPost returns the next post in a channel that contains text.
func (f *fake) waitPost(t testing.TB, channelID, text string) *model.Post {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p := <-f.posted:
			if p.ChannelId == channelID && strings.Contains(p.Message, text) {
				return p
			}
		case <-timeout:
			t.Fatalf("no post with %q", text)
		}
	}
}

func (f *fake) String() string { return fmt.Sprintf("fake Mattermost at %s", f.srv.URL) }

// channelGets is how often the channel was fetched by id.
func (f *fake) channelGets(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[id]
}

// skipSequence makes the next event's sequence number skip one, as when
// an event is lost.
func (f *fake) skipSequence() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wsSeq++
}
