package mattermost

import (
	"testing"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/sectriage/sectriage/bot"
)

// TestPrivacyClosureOfEveryChannelType: what each Mattermost channel type
// tells the rule before its members are read.
func TestPrivacyClosureOfEveryChannelType(t *testing.T) {
	a := &Adapter{}
	c := &connection{botID: "botid"}
	for _, tc := range []struct {
		ch      model.Channel
		kind    bot.PlaceKind
		private bool
	}{
		{model.Channel{Id: "o", Name: "town", Type: model.ChannelTypeOpen}, bot.PlaceChannel, false},
		{model.Channel{Id: "p", Name: "triage", Type: model.ChannelTypePrivate}, bot.PlaceChannel, true},
		{model.Channel{Id: "g", Name: "abc", Type: model.ChannelTypeGroup}, bot.PlaceGroup, true},
		{model.Channel{Id: "d", Name: "botid__userid", Type: model.ChannelTypeDirect}, bot.PlaceDirect, true},
		{model.Channel{Id: "x", Name: "other__userid", Type: model.ChannelTypeDirect}, bot.PlaceDirect, false},
		{model.Channel{Id: "?", Name: "odd", Type: "Z"}, bot.PlaceChannel, false},
	} {
		f := a.closure(c, &tc.ch)
		if f.Kind != tc.kind || f.Private != tc.private || f.Platform != bot.PlatformMattermost {
			t.Errorf("type %s: %+v, want kind %s private %v", tc.ch.Type, f, tc.kind, tc.private)
		}
		// Members are not read yet: the rule refuses even the closed ones.
		if bot.MayReceive(f).OK {
			t.Errorf("type %s passed the rule without its members", tc.ch.Type)
		}
	}
}
