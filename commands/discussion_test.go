package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sectriage/sectriage/bot"
)

func TestForIncidentAddsTheChannelsIncident(t *testing.T) {
	reg := newWorld(t).reg
	for in, want := range map[string]string{
		"ack":                         "ack 12",
		"severity high":               "severity 12 high",
		"note  \"quoted words\" here": "note 12 \"quoted words\" here",
		"show 7":                      "show 7",
		"show SEC-7 discussion":       "show SEC-7 discussion",
		"show discussion":             "show 12 discussion",
		"list mine":                   "list mine", // takes no incident
		"help ack":                    "help ack",
		"nosuchcommand":               "nosuchcommand",
	} {
		if got := reg.ForIncident(in, 12); got != want {
			t.Errorf("ForIncident(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShowDiscussion(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	inc := &bot.Incident{ID: 1}
	alice := actorOf(w, "alice")
	if err := w.svc.Discuss(ctx, alice, inc.ID, bot.Said{Text: "I can reproduce it on 2.4 <@here>"}); err != nil {
		t.Fatal(err)
	}
	outsider := bot.Actor{Platform: bot.PlatformIRC}
	if err := w.svc.Discuss(ctx, outsider, inc.ID, bot.Said{Text: "hello"}); err == nil {
		t.Fatal("an outsider's message was recorded")
	}
	reply := w.reg.Run(ctx, alice, w.reg.ForIncident("show discussion", inc.ID), true)
	text := bot.RenderPlain(reply.Text)
	if !reply.Confidential || !strings.Contains(text, "alice (") || !strings.Contains(text, "I can reproduce it on 2.4") || strings.Contains(text, "hello") {
		t.Fatalf("private discussion:\n%s", text)
	}
	show := bot.RenderPlain(w.reg.Run(ctx, alice, "show "+bot.FormatID(inc.ID), true).Text)
	if strings.Contains(show, "reproduce") || !strings.Contains(show, "Discussion: 1 message(s)") {
		t.Fatalf("show lists the discussion inline or not at all:\n%s", show)
	}
	public := w.reg.Run(ctx, alice, "show "+bot.FormatID(inc.ID)+" discussion", false)
	if pt := bot.RenderPlain(public.Text); strings.Contains(pt, "reproduce") || public.Kind == "" {
		t.Fatalf("non-private discussion: %+v\n%s", public, pt)
	}
}
