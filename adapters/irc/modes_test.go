package irc

import (
	"testing"
	"time"

	"github.com/lrstanley/girc"
)

// feed applies raw server lines to a tracker, as the session does.
func feed(t *testing.T, tr *tracker, accountTag bool, raws ...string) effect {
	t.Helper()
	var last effect
	for _, raw := range raws {
		e := girc.ParseEvent(raw)
		if e == nil {
			t.Fatalf("unparsable test line %q", raw)
		}
		last = tr.handle(e, accountTag, time.Unix(0, 0))
	}
	return last
}

// joined is a tracker for "bot" in #sec on a server like the test network.
func joined(t *testing.T) *tracker {
	tr := newTracker("bot")
	feed(t, tr, true,
		":irc.test 001 bot :Welcome",
		":irc.test 005 bot CASEMAPPING=ascii CHANMODES=Ibe,k,l,MRimnprst PREFIX=(ov)@+ WHOX :are supported by this server",
		":bot!bot@127.0.0.1 JOIN #sec * :sectriage",
	)
	return tr
}

func TestModesFrom324AndRemoval(t *testing.T) {
	tr := joined(t)
	c := tr.channel("#sec")
	if c == nil || c.modesKnown {
		t.Fatal("after JOIN the channel is tracked, its modes not yet known")
	}
	feed(t, tr, true, ":irc.test 324 bot #sec +sknt s3cret")
	if !c.modesKnown || !c.modes.private() || c.modes.set['k'] != "s3cret" {
		t.Fatalf("324 +sknt: %v known %v", c.modes.set, c.modesKnown)
	}
	// girc v1.1.2 never removes -k and -m; this parser must.
	feed(t, tr, true, ":alice!alice@h MODE #sec +m", ":alice!alice@h MODE #sec -k s3cret")
	if c.modes.has('k') || c.modes.private() {
		t.Fatalf("-k left %v; the channel is no longer private", c.modes)
	}
	feed(t, tr, true, ":alice!alice@h MODE #sec -m")
	if c.modes.has('m') {
		t.Fatal("-m did not remove m")
	}
	// +i makes it private again; -s makes it public whatever else is set.
	feed(t, tr, true, ":alice!alice@h MODE #sec +i")
	if !c.modes.private() {
		t.Fatal("+s+i is private")
	}
	feed(t, tr, true, ":alice!alice@h MODE #sec -s")
	if c.modes.private() {
		t.Fatal("-s: public")
	}
	if got := c.modes.String(); got != "+int" {
		t.Fatalf("modes %q, want +int", got)
	}
}

func TestModeParametersFollowCHANMODES(t *testing.T) {
	tr := joined(t)
	c := tr.channel("#sec")
	feed(t, tr, true, ":irc.test 324 bot #sec +nt")
	// b (list) and o (prefix) take a parameter both ways, l only when set,
	// k both ways: if any were miscounted, s and i would be read as
	// parameters or the key as a mode.
	feed(t, tr, true, ":alice!alice@h MODE #sec +bo-l+ks *!*@bad bot key")
	if c.modes.set['k'] != "key" || !c.modes.has('s') || c.modes.has('l') || c.modes.has('b') || c.modes.has('o') {
		t.Fatalf("modes %v", c.modes.set)
	}
	if !c.op {
		t.Fatal("+o bot: we are op")
	}
	feed(t, tr, true, ":alice!alice@h MODE #sec +l 10", ":alice!alice@h MODE #sec -l+s-o bot")
	if c.modes.has('l') || !c.modes.has('s') || c.op {
		t.Fatalf("after -l+s-o bot: %v op=%v", c.modes.set, c.op)
	}
	// Modes of other channels and user modes are not ours.
	if eff := feed(t, tr, true, ":bot MODE bot +i", ":alice!a@h MODE #other -s"); eff.modes != "" {
		t.Fatalf("unrelated MODE changed %q", eff.modes)
	}
}

func TestMissingPrivacy(t *testing.T) {
	var m chanModes
	m.apply(&isupport{}, []modeChange{{add: true, mode: 'n'}})
	if modes, args := m.missingPrivacy("key"); modes != "+sk" || len(args) != 1 || args[0] != "key" {
		t.Fatalf("with a key: %s %v", modes, args)
	}
	if modes, _ := m.missingPrivacy(""); modes != "+si" {
		t.Fatalf("without a key: %s", modes)
	}
	m.apply(&isupport{}, []modeChange{{add: true, mode: 's'}, {add: true, mode: 'i'}})
	if modes, _ := m.missingPrivacy("key"); modes != "" {
		t.Fatalf("already private, still wants %s", modes)
	}
}

func TestCasemapping(t *testing.T) {
	is := defaultISupport()
	if is.fold("Nick[a]^") != "nick{a}~" {
		t.Fatalf("rfc1459 fold %q", is.fold("Nick[a]^"))
	}
	is.casemapping = "strict-rfc1459"
	if is.fold("[^]") != "{^}" {
		t.Fatalf("strict-rfc1459 fold %q", is.fold("[^]"))
	}
	is.casemapping = "ascii"
	if is.fold("AB[]") != "ab[]" {
		t.Fatalf("ascii fold %q", is.fold("AB[]"))
	}
}
