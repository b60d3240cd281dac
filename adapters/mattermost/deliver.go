package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// Deliver sends one outbox message. It returns an ordinary error when the
// server could not be reached or failed (the outbox retries with backoff)
// and a bot.Permanent one for what can never succeed (a channel that is not
// private, a person without an account). A message of several posts
// resumes where a failed attempt stopped.
func (a *Adapter) Deliver(ctx context.Context, m bot.OutboxMessage) error {
	c, err := a.current()
	if err != nil {
		return err
	}
	a.pending.yield(ctx)
	return forOutbox(a.deliver(ctx, c, m))
}

func (a *Adapter) deliver(ctx context.Context, c *connection, m bot.OutboxMessage) error {
	switch {
	case m.Dest.Person != "":
		return a.deliverToPerson(ctx, c, m)
	case m.Dest.Channel == bot.ChannelTriage:
		return a.deliverToChannel(ctx, c, m, c.triageID)
	case m.Dest.Channel == bot.ChannelIncident:
		ch, created, err := a.incidentChannel(ctx, c, m.IncidentID)
		if err != nil {
			return err
		}
		if err := a.deliverToChannel(ctx, c, m, ch); err != nil {
			return err
		}
		if ch != c.triageID && (created || m.Kind == bot.MessageNewIncident) {
			// The incident's people come in once its post is there; a
			// retried new-incident message adds whoever is still missing.
			return a.addIncidentPeople(ctx, c, m.IncidentID, ch)
		}
		return nil
	default:
		return bot.Permanent(fmt.Errorf("mattermost cannot deliver to %s", m.Dest))
	}
}

func (a *Adapter) deliverToChannel(ctx context.Context, c *connection, m bot.OutboxMessage, channelID string) error {
	if _, err := a.verifyChannel(ctx, c, channelID, true); err != nil {
		return err
	}
	if m.Kind == bot.MessageNewIncident && m.IncidentID != 0 {
		return a.postNewIncident(ctx, c, m, channelID)
	}
	if err := a.postText(ctx, c, m, channelID, m.Text, 0, ""); err != nil {
		return err
	}
	if m.Kind == bot.MessageNotice && m.IncidentID != 0 {
		// Something changed: the incident's post shows its new state.
		a.refreshIncidentPosts(ctx, m.IncidentID)
	}
	return nil
}

// deliverToPerson pings a person as they prefer: a direct message, or a
// mention in the incident's channel when they are in it and it is fit.
// Alerts always go direct: they may be about that channel.
func (a *Adapter) deliverToPerson(ctx context.Context, c *connection, m bot.OutboxMessage) error {
	p := a.svc.Settings().People.ByName(m.Dest.Person)
	if p == nil {
		return bot.Permanent(fmt.Errorf("%q is not a declared person", m.Dest.Person))
	}
	userID := c.ids.byPerson[strings.ToLower(p.Name)]
	if userID == "" {
		return bot.Permanent(fmt.Errorf("%s has no Mattermost account sectriage recognises", p.Name))
	}
	if p.Notify == bot.NotifyChannel && m.Kind != bot.MessageAlert {
		ch, created, err := a.incidentChannel(ctx, c, m.IncidentID)
		if err != nil {
			return err
		}
		if created {
			if err := a.addIncidentPeople(ctx, c, m.IncidentID, ch); err != nil {
				return err
			}
		}
		cctx, cancel := a.call(ctx)
		_, resp, err := a.client.GetChannelMember(cctx, ch, userID, "")
		cancel()
		switch err := apiErr("checking channel membership", resp, err); {
		case err == nil:
			err = a.deliverToChannel(ctx, c, m, ch)
			if !errors.Is(err, errNotPrivate) {
				return err
			}
			// The channel is not fit (the officers were told): go direct.
		case transient(err):
			return err
		}
	}
	dm, err := a.directChannel(ctx, c, userID)
	if err != nil {
		return err
	}
	if _, err := a.verifyChannel(ctx, c, dm, true); err != nil {
		return err
	}
	return a.postText(ctx, c, m, dm, m.Text, 0, "")
}

// directChannel returns the bot's direct channel with a user.
func (a *Adapter) directChannel(ctx context.Context, c *connection, userID string) (string, error) {
	a.mu.RLock()
	id, ok := a.dms[userID]
	a.mu.RUnlock()
	if ok {
		return id, nil
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	ch, resp, err := a.client.CreateDirectChannel(cctx, c.botID, userID)
	if err := apiErr("opening a direct channel", resp, err); err != nil {
		return "", err
	}
	a.mu.Lock()
	a.dms[userID] = ch.Id
	a.mu.Unlock()
	return ch.Id, nil
}

// postNewIncident posts the incident with its buttons, then the report
// body in the post's thread.
func (a *Adapter) postNewIncident(ctx context.Context, c *connection, m bot.OutboxMessage, channelID string) error {
	inc, err := a.store.Incident(ctx, m.IncidentID)
	if err != nil {
		return err
	}
	done, err := a.store.MattermostPostedParts(ctx, m.ID)
	if err != nil {
		return err
	}
	root := done[0]
	if root == "" {
		nonce := newNonce()
		post, err := a.createPost(ctx, c, m, 0, a.incidentPost(c, inc, channelID, nonce))
		if err != nil {
			return err
		}
		if err := a.store.RecordMattermostPost(ctx, m.ID, 0, post.Id, channelID, inc.ID, nonce, a.svc.Clock().Now()); err != nil {
			return err
		}
		root = post.Id
	}
	if a.reports == nil {
		return nil
	}
	var t bot.Text
	body, err := a.reports.ReportBody(ctx, inc.ID)
	switch {
	case err != nil:
		// Never the error text itself: it may quote the report.
		a.log.Error("cannot read the report body", "incident", inc.ID, "err_kind", bot.KindOf(err))
		t.Plain("The report could not be read here; see the bot's log, or show " + strconv.FormatInt(inc.ID, 10) + " in a direct message.")
	case body.IsEmpty():
		return nil
	default:
		t.Plain("Report of " + inc.Name() + ":").Line().Append(body)
	}
	return a.postText(ctx, c, m, channelID, t, 1, root)
}

// postText posts t as one or more posts, parts numbered from first. A
// report too long for MaxPosts posts is attached as a text file instead.
func (a *Adapter) postText(ctx context.Context, c *connection, m bot.OutboxMessage, channelID string, t bot.Text, first int, root string) error {
	parts := pack(blocks(t, c.mention), a.opts.PostLimit)
	var file []byte
	if len(parts) > a.opts.MaxPosts {
		if short, body := splitBlocks(t); len(body) > 0 {
			short.Line().Plain(fmt.Sprintf("The full text is attached (%d KB): too long for posts.", (len(body)+1023)/1024))
			parts, file = pack(blocks(short, c.mention), a.opts.PostLimit), body
		}
	}
	var done map[int]string
	if m.ID != 0 {
		var err error
		if done, err = a.store.MattermostPostedParts(ctx, m.ID); err != nil {
			return err
		}
	}
	record := func(part int, id string) error {
		if m.ID == 0 {
			return nil
		}
		return a.store.RecordMattermostPost(ctx, m.ID, part, id, channelID, m.IncidentID, "", a.svc.Clock().Now())
	}
	for i, text := range parts {
		part := first + i
		if done[part] != "" {
			continue
		}
		post, err := a.createPost(ctx, c, m, part, &model.Post{ChannelId: channelID, RootId: root, Message: text})
		if err != nil {
			return err
		}
		if err := record(part, post.Id); err != nil {
			return err
		}
	}
	if file == nil {
		return nil
	}
	part := first + len(parts)
	if done[part] != "" {
		return nil
	}
	name := "message.txt"
	if m.IncidentID != 0 {
		name = bot.FormatID(m.IncidentID) + "-report.txt"
	}
	cctx, cancel := a.call(ctx)
	up, resp, err := a.client.UploadFile(cctx, file, channelID, name)
	cancel()
	if err := apiErr("uploading the report as a file", resp, err); err != nil {
		return err
	}
	if len(up.FileInfos) == 0 {
		return errors.New("mattermost: the file upload returned no file")
	}
	post, err := a.createPost(ctx, c, m, part, &model.Post{ChannelId: channelID, RootId: root,
		Message: escapePlain(name, true), FileIds: model.StringArray{up.FileInfos[0].Id}})
	if err != nil {
		return err
	}
	return record(part, post.Id)
}

// splitBlocks separates a text's blocks (report bodies) from the rest:
// the rest stays a post, the blocks become a file.
func splitBlocks(t bot.Text) (bot.Text, []byte) {
	var short bot.Text
	var body strings.Builder
	for _, s := range t.Spans {
		if s.Kind == bot.SpanBlock {
			body.WriteString(bot.EscapeControl(strings.ReplaceAll(s.Text, "\r\n", "\n"), true))
			if !strings.HasSuffix(s.Text, "\n") {
				body.WriteByte('\n')
			}
			continue
		}
		short.Spans = append(short.Spans, s)
	}
	return short, []byte(body.String())
}

// createPost posts as the bot. The empty attachments list keeps the
// server from unfurling any link into a preview (it previews only posts
// without attachments), and the pending post id lets it drop a duplicate
// when a retry follows a lost response.
func (a *Adapter) createPost(ctx context.Context, c *connection, m bot.OutboxMessage, part int, post *model.Post) (*model.Post, error) {
	if post.GetProp(model.PostPropsAttachments) == nil {
		post.AddProp(model.PostPropsAttachments, []*model.MessageAttachment{})
	}
	if m.ID != 0 {
		post.PendingPostId = fmt.Sprintf("%s:sectriage-%d-%d", c.botID, m.ID, part)
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	created, resp, err := a.client.CreatePost(cctx, post)
	if err := apiErr("posting to channel "+post.ChannelId, resp, err); err != nil {
		if statusOf(err) == http.StatusForbidden && a.watched(c, post.ChannelId) {
			var t bot.Text
			t.Plain(fmt.Sprintf("Mattermost: the bot may not post in its channel %s (HTTP 403); add it back to the channel.", post.ChannelId))
			a.alarm(ctx, "mattermost-forbidden|"+post.ChannelId+"|"+a.svc.Clock().Now().UTC().Format("2006-01-02"), t)
			// The channel passed a check that was kept (its removal event
			// is not read yet): forget kept verdicts, and hold the
			// message as a failed check would, rather than give it up.
			a.verdicts.drop()
			v := bot.MayReceive(bot.PlaceFacts{Platform: bot.PlatformMattermost, Name: post.ChannelId, Kind: bot.PlaceChannel,
				Closure: "the bot may not post in it: HTTP 403"})
			return nil, fmt.Errorf("%w (%w)", bot.Hold(v), errNotPrivate)
		}
		return nil, err
	}
	return created, nil
}

// incidentChannel returns where an incident's messages go: its own
// private channel, made on first use, or the triage channel.
func (a *Adapter) incidentChannel(ctx context.Context, c *connection, incidentID int64) (id string, created bool, err error) {
	if !a.opts.ChannelPerIncident || incidentID == 0 {
		return c.triageID, false, nil
	}
	id, err = a.store.MattermostIncidentChannel(ctx, incidentID)
	if err != nil || id != "" {
		return id, false, err
	}
	id, err = a.createIncidentChannel(ctx, c, incidentID)
	return id, err == nil, err
}

// createIncidentChannel makes an incident's private channel, with the bot
// alone in it: the message that needed it is posted first, and the
// incident's people are added after (addIncidentPeople), so that the post
// does not wait for Mattermost to add each of them (about 10 ms a person)
// and is there when they arrive. The name is predictable, so a channel of
// that name made by anyone but the bot is refused.
func (a *Adapter) createIncidentChannel(ctx context.Context, c *connection, incidentID int64) (string, error) {
	inc, err := a.store.Incident(ctx, incidentID)
	if err != nil {
		return "", err
	}
	name := a.opts.ChannelPrefix + strconv.FormatInt(incidentID, 10)
	cctx, cancel := a.call(ctx)
	defer cancel()
	ch, resp, err := a.client.CreateChannel(cctx, &model.Channel{
		TeamId: c.teamID, Name: name, Type: model.ChannelTypePrivate,
		DisplayName: inc.Name() + " (security)",
		Purpose:     "sectriage: " + inc.Name() + ". Private to the security team; add nobody else.",
	})
	if err := apiErr("creating channel "+name, resp, err); err != nil {
		if transient(err) {
			return "", err
		}
		// Perhaps made by an earlier attempt that failed later on.
		existing, resp2, err2 := a.client.GetChannelByName(cctx, name, c.teamID, "")
		if apiErr("", resp2, err2) != nil || existing.CreatorId != c.botID || existing.Type != model.ChannelTypePrivate {
			var t bot.Text
			t.Plain(fmt.Sprintf("Mattermost: cannot make the private channel %s for %s (HTTP %d), and no usable channel of that name exists; its messages go nowhere until this is fixed.",
				name, inc.Name(), statusOf(err)))
			a.alarm(ctx, "mattermost-create|"+name, t)
			return "", bot.Permanent(err)
		}
		ch = existing
	}
	if err := a.store.SetMattermostIncidentChannel(ctx, incidentID, ch.Id, a.svc.Clock().Now()); err != nil {
		return "", err
	}
	a.mu.Lock()
	a.incidents[ch.Id] = incidentID
	a.mu.Unlock()
	return ch.Id, nil
}

// addIncidentPeople adds the assignee, the manager and the officers to the
// incident's channel, in one call. Mattermost adds whom it can and skips
// who is there already, so calling it again adds whoever is missing.
func (a *Adapter) addIncidentPeople(ctx context.Context, c *connection, incidentID int64, channelID string) error {
	inc, err := a.store.Incident(ctx, incidentID)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	var ids []string
	for _, person := range channelPeople(a.svc.Settings(), inc) {
		if userID := c.ids.byPerson[strings.ToLower(person)]; userID != "" && byID[userID] == "" {
			byID[userID] = person
			ids = append(ids, userID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	cctx, cancel := a.call(ctx)
	defer cancel()
	members, resp, err := a.client.AddChannelMembers(cctx, channelID, "", ids)
	if err := apiErr("adding "+inc.Name()+"'s people to its channel", resp, err); err != nil {
		if transient(err) {
			return err
		}
		members = nil // Mattermost added nobody
		a.log.Warn("cannot add the incident's people to its channel", "incident", inc.ID, "channel", channelID, "err", err)
	}
	for _, m := range members {
		delete(byID, m.UserId)
	}
	for _, person := range byID {
		a.log.Warn("cannot add a person to the incident channel", "person", person, "incident", inc.ID, "channel", channelID)
	}
	return nil
}

// channelPeople is who belongs in an incident's channel.
func channelPeople(st *bot.Settings, inc *bot.Incident) []string { return bot.IncidentPeople(st, inc) }
