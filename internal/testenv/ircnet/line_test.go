package ircnet

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseLine(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Line
	}{
		{"PING :irc.test.local", Line{Command: "PING", Params: []string{"irc.test.local"}}},
		{":irc.test.local 001 alice :Welcome to the TestNet IRC Network",
			Line{Prefix: "irc.test.local", Command: "001", Params: []string{"alice", "Welcome to the TestNet IRC Network"}}},
		{`@account=alice;time=2026-11-22T02:59:23.899Z;x=a\sb\:c\\d :alice!alice@127.0.0.1 PRIVMSG #secret :hello :) there`,
			Line{
				Tags:    map[string]string{"account": "alice", "time": "2026-11-22T02:59:23.899Z", "x": `a b;c\d`},
				Prefix:  "alice!alice@127.0.0.1",
				Command: "PRIVMSG", Params: []string{"#secret", "hello :) there"},
			}},
		{"@flag :bob!b@h  join   #c  ", Line{Tags: map[string]string{"flag": ""}, Prefix: "bob!b@h", Command: "JOIN", Params: []string{"#c"}}},
		{":s MODE #secret +sik key", Line{Prefix: "s", Command: "MODE", Params: []string{"#secret", "+sik", "key"}}},
		{":s 353 me = #c :", Line{Prefix: "s", Command: "353", Params: []string{"me", "=", "#c", ""}}},
	} {
		got := ParseLine(tc.raw)
		tc.want.Raw = tc.raw
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseLine(%q) (-want +got):\n%s", tc.raw, diff)
		}
	}
	l := ParseLine(":alice!a@h PRIVMSG bob :hi")
	if l.Nick() != "alice" || l.Param(1) != "hi" || l.Param(5) != "" {
		t.Errorf("helpers on %q: Nick %q Param(1) %q Param(5) %q", l.Raw, l.Nick(), l.Param(1), l.Param(5))
	}
	if _, ok := l.Tag("account"); ok {
		t.Errorf("untagged line reports an account tag")
	}
	if !Cmd("privmsg", "bob")(l) || Cmd("PRIVMSG", "carol")(l) || Cmd("PRIVMSG", "bob", "hi", "x")(l) {
		t.Errorf("Cmd matcher wrong on %q", l.Raw)
	}
}
