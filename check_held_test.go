package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sectriage/sectriage/bot"
	"github.com/sectriage/sectriage/storage"
)

// TestCheckReportsHeldMessages: messages the privacy rule holds make check
// fail, grouped by platform and reason.
func TestCheckReportsHeldMessages(t *testing.T) {
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "st.db"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out bytes.Buffer
	c := &checker{out: &out}
	checkHeld(ctx, c, db)
	if c.errors != 0 {
		t.Fatalf("an empty outbox: %s", out.String())
	}

	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	msg := bot.OutboxMessage{Dest: bot.Destination{Platform: bot.PlatformIRC, Channel: bot.ChannelTriage},
		Kind: bot.MessageNotice, Text: bot.PlainText("x"), Created: at, NextAttempt: at}
	if err := db.Enqueue(ctx, []bot.OutboxMessage{msg, msg}); err != nil {
		t.Fatal(err)
	}
	ob := bot.NewOutbox(db, bot.NewManualClock(at), discardLogger())
	v := bot.MayReceive(bot.PlaceFacts{Platform: bot.PlatformIRC, Name: "#sec", Kind: bot.PlaceChannel, Private: true,
		MembersKnown: true, Members: []bot.PlaceMember{{Name: "eve", Status: bot.MemberOutsider}}})
	ob.Register(bot.PlatformIRC, bot.DeliverFunc(func(context.Context, bot.OutboxMessage) error { return bot.Hold(v) }))
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checkHeld(ctx, c, db)
	if c.errors != 1 || !strings.Contains(out.String(), "2 irc message(s) held since 2026-12-04 10:00:00 UTC") ||
		!strings.Contains(out.String(), "eve (outsider)") {
		t.Fatalf("check with held messages: %d error(s)\n%s", c.errors, out.String())
	}
}
