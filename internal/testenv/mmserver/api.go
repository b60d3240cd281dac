package mmserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Setup goes through the REST API with the system admin's session, as an
// operator would, so that tests see what a real installation has.

// apiTimeout bounds every call: model.NewAPIv4Client has no timeout of its
// own, so a hung server would otherwise hang the test until go test's.
const apiTimeout = 30 * time.Second

// AdminName is the system admin that Start creates as the first user.
const AdminName = "admin"

func (s *Server) ctx(t testing.TB) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), apiTimeout)
}

// check fails the test when an API call did.
func check(t testing.TB, what string, resp *model.Response, err error) {
	t.Helper()
	if err == nil {
		return
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	t.Fatalf("mmserver: %s: HTTP %d: %v", what, status, err)
}

// Client returns an API client that authenticates with token (a session
// or a bot's access token). Its HTTP client times out after apiTimeout, in
// case a test passes a context without a deadline.
func (s *Server) Client(token string) *model.Client4 {
	c := model.NewAPIv4Client(s.URL())
	c.HTTPClient = &http.Client{Timeout: apiTimeout}
	if token != "" {
		c.SetToken(token)
	}
	return c
}

// Admin returns the system admin's logged-in client. It is shared: do not
// log it out or change its token.
func (s *Server) Admin() *model.Client4 { return s.admin }

func newPassword() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	// Upper, lower, digit and symbol, whatever the password policy asks for.
	return "Pw-" + hex.EncodeToString(b) + "-X9!"
}

// createAdmin makes the first user, whom Mattermost makes system admin,
// and logs in as them. It runs inside start, which has no test to fail.
func (s *Server) createAdmin() error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	pw := newPassword()
	c := s.Client("")
	u, _, err := c.CreateUser(ctx, &model.User{Username: AdminName, Email: AdminName + "@example.com", Password: pw})
	if err != nil {
		return fmt.Errorf("creating the first (admin) user: %w", err)
	}
	if _, _, err := c.Login(ctx, AdminName, pw); err != nil {
		return fmt.Errorf("admin login: %w", err)
	}
	if !u.IsSystemAdmin() {
		return fmt.Errorf("the first user got roles %q, not system_admin", u.Roles)
	}
	s.admin = c
	s.passwords[AdminName] = pw
	return nil
}

// CreateTeam creates an open team; the admin is its first member.
func (s *Server) CreateTeam(t testing.TB, name string) *model.Team {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	team, resp, err := s.admin.CreateTeam(ctx, &model.Team{Name: name, DisplayName: name, Type: model.TeamOpen})
	check(t, "creating team "+name, resp, err)
	return team
}

// CreateUser creates a user (email username@example.com) and returns it
// with its password. Log in as them with UserClient.
func (s *Server) CreateUser(t testing.TB, username string) (*model.User, string) {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	pw := newPassword()
	u, resp, err := s.admin.CreateUser(ctx, &model.User{
		Username: username, Email: username + "@example.com", Password: pw, EmailVerified: true,
	})
	check(t, "creating user "+username, resp, err)
	s.mu.Lock()
	s.passwords[username] = pw
	s.mu.Unlock()
	return u, pw
}

// UserClient logs in as a user made by CreateUser (or as AdminName) and
// returns a client with a new session; its AuthToken also opens a WebSocket.
func (s *Server) UserClient(t testing.TB, username string) *model.Client4 {
	t.Helper()
	s.mu.Lock()
	pw, ok := s.passwords[username]
	s.mu.Unlock()
	if !ok {
		t.Fatalf("mmserver: UserClient: %q was not made by CreateUser", username)
	}
	ctx, cancel := s.ctx(t)
	defer cancel()
	c := s.Client("")
	_, resp, err := c.Login(ctx, username, pw)
	check(t, "logging in as "+username, resp, err)
	return c
}

// CreateBot creates a bot account owned by the admin, gives it a personal
// access token and adds it to the given teams (a bot must be in the team
// before it can be added to the team's channels).
func (s *Server) CreateBot(t testing.TB, username string, teamIDs ...string) (userID, token string) {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	bot, resp, err := s.admin.CreateBot(ctx, &model.Bot{Username: username, DisplayName: username, Description: "sectriage test bot"})
	check(t, "creating bot "+username, resp, err)
	tok, resp, err := s.admin.CreateUserAccessToken(ctx, bot.UserId, "sectriage test", 0)
	check(t, "creating a token for bot "+username, resp, err)
	for _, team := range teamIDs {
		s.AddToTeam(t, team, bot.UserId)
	}
	return bot.UserId, tok.Token
}

// AddToTeam makes a user (or bot) a member of a team.
func (s *Server) AddToTeam(t testing.TB, teamID, userID string) {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	_, resp, err := s.admin.AddTeamMember(ctx, teamID, userID)
	check(t, "adding "+userID+" to team "+teamID, resp, err)
}

// CreateChannel creates a public or private channel; the admin is its
// first member.
func (s *Server) CreateChannel(t testing.TB, teamID, name string, private bool) *model.Channel {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	typ := model.ChannelTypeOpen
	if private {
		typ = model.ChannelTypePrivate
	}
	ch, resp, err := s.admin.CreateChannel(ctx, &model.Channel{TeamId: teamID, Name: name, DisplayName: name, Type: typ})
	check(t, "creating channel "+name, resp, err)
	return ch
}

// AddToChannel makes a team member a member of a channel.
func (s *Server) AddToChannel(t testing.TB, channelID, userID string) {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	_, resp, err := s.admin.AddChannelMember(ctx, channelID, userID)
	check(t, "adding "+userID+" to channel "+channelID, resp, err)
}

// CreateSlashCommand registers a custom slash command /trigger that POSTs
// to url. The returned command's Token is what the server sends with each
// call. Built-in triggers such as "echo" are refused.
func (s *Server) CreateSlashCommand(t testing.TB, teamID, trigger, url string) *model.Command {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	cmd, resp, err := s.admin.CreateCommand(ctx, &model.Command{
		TeamId: teamID, Trigger: trigger, Method: model.CommandMethodPost, URL: url,
		DisplayName: trigger, AutoComplete: true, AutoCompleteDesc: "sectriage test command",
	})
	check(t, "creating slash command /"+trigger, resp, err)
	return cmd
}

// ConvertChannelToPublic makes a private channel public.
func (s *Server) ConvertChannelToPublic(t testing.TB, channelID string) *model.Channel {
	t.Helper()
	return s.setPrivacy(t, channelID, model.ChannelTypeOpen)
}

// ConvertChannelToPrivate makes a public channel private.
func (s *Server) ConvertChannelToPrivate(t testing.TB, channelID string) *model.Channel {
	t.Helper()
	return s.setPrivacy(t, channelID, model.ChannelTypePrivate)
}

func (s *Server) setPrivacy(t testing.TB, channelID string, typ model.ChannelType) *model.Channel {
	t.Helper()
	ctx, cancel := s.ctx(t)
	defer cancel()
	ch, resp, err := s.admin.UpdateChannelPrivacy(ctx, channelID, typ)
	check(t, "changing the privacy of channel "+channelID, resp, err)
	return ch
}
