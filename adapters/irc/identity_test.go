package irc

import "testing"

func TestAccountTracking(t *testing.T) {
	tr := joined(t)
	acct := func(nick string) (string, bool) { return tr.account(nick) }
	feed(t, tr, true,
		":irc.test 353 bot = #sec :@bot alice carol!carol@h +dave",
		":irc.test 354 bot 152 #sec alice H alice",
		":irc.test 354 bot 152 #sec carol H 0",
		":irc.test 354 bot 152 #sec dave H+ dave",
		":irc.test 354 bot 152 #sec bot H@ sectriage",
	)
	if a, ok := acct("alice"); !ok || a != "alice" {
		t.Fatalf("WHOX alice: %q %v", a, ok)
	}
	if a, ok := acct("carol"); !ok || a != "" {
		t.Fatalf("WHOX 0 means logged out: %q %v", a, ok)
	}
	if !tr.channel("#sec").op {
		t.Fatal("WHOX flags H@ for us: op")
	}

	// extended-join with * is "not logged in"; with an account it is one.
	feed(t, tr, true, ":erin!erin@h JOIN #sec * :Erin", ":frank!frank@h JOIN #sec frank :Frank")
	if a, ok := acct("erin"); !ok || a != "" {
		t.Fatalf("extended-join *: %q %v", a, ok)
	}
	if a, _ := acct("frank"); a != "frank" {
		t.Fatalf("extended-join frank: %q", a)
	}

	// account-notify: logout (*) clears, login sets.
	feed(t, tr, true, ":alice!alice@h ACCOUNT *", ":carol!carol@h ACCOUNT carol")
	if a, ok := acct("alice"); !ok || a != "" {
		t.Fatalf("ACCOUNT * must clear alice: %q %v", a, ok)
	}
	if a, _ := acct("carol"); a != "carol" {
		t.Fatalf("ACCOUNT carol: %q", a)
	}

	// A nick change keeps the account with the person, not the nick.
	feed(t, tr, true, ":carol!carol@h NICK alice")
	if a, _ := acct("alice"); a != "carol" {
		t.Fatalf("after carol became alice, alice is account %q", a)
	}
	if _, ok := acct("carol"); ok {
		t.Fatal("the old nick must be forgotten")
	}
	if n := tr.nickFor("CAROL", "#sec"); n != "alice" {
		t.Fatalf("nickFor(carol) = %q", n)
	}

	// account-tag: a tag sets, a message without one clears.
	feed(t, tr, true, "@account=dave2 :dave!dave@h PRIVMSG #sec :hi")
	if a, _ := acct("dave"); a != "dave2" {
		t.Fatalf("tag: %q", a)
	}
	feed(t, tr, true, ":dave!dave@h PRIVMSG #sec :hi")
	if a, ok := acct("dave"); !ok || a != "" {
		t.Fatalf("no tag with account-tag on means not logged in: %q %v", a, ok)
	}
	// Without the account-tag capability, an untagged message says nothing.
	feed(t, tr, true, ":dave!dave@h ACCOUNT dave")
	feed(t, tr, false, ":dave!dave@h PRIVMSG #sec :hi")
	if a, _ := acct("dave"); a != "dave" {
		t.Fatalf("without the cap: %q", a)
	}

	// Strangers who PM us are not tracked: we would never hear their logout.
	feed(t, tr, true, "@account=mallory :mallory!m@h PRIVMSG bot :hi")
	if tr.lookup("mallory") != nil {
		t.Fatal("a stranger's PM was tracked")
	}

	// QUIT and leaving our last shared channel forget the user.
	feed(t, tr, true, ":frank!frank@h QUIT :bye", ":erin!erin@h PART #sec", ":dave!dave@h KICK #sec alice :out")
	for _, n := range []string{"frank", "erin", "alice"} {
		if tr.lookup(n) != nil {
			t.Fatalf("%s is still tracked", n)
		}
	}

	// Being kicked forgets the channel and everyone known only from it.
	eff := feed(t, tr, true, ":dave!dave@h KICK #sec bot :bye")
	if eff.left != "#sec" || tr.channel("#sec") != nil || tr.lookup("dave") != nil {
		t.Fatalf("after our KICK: left=%q", eff.left)
	}
}

func TestOwnMaskAndNick(t *testing.T) {
	tr := newTracker("bot")
	if tr.prefixLen() != len("bot")+1+10+1+1+64 {
		t.Fatalf("worst-case prefix %d", tr.prefixLen())
	}
	feed(t, tr, true, ":irc.test 005 bot USERLEN=12 HOSTLEN=70 :are supported by this server")
	if tr.prefixLen() != len("bot")+1+12+1+1+70 {
		t.Fatalf("worst-case prefix after 005 %d", tr.prefixLen())
	}
	feed(t, tr, true, ":bot!~bot@10.0.0.1 JOIN #sec")
	if tr.prefixLen() != len("bot!~bot@10.0.0.1") {
		t.Fatalf("exact prefix %d", tr.prefixLen())
	}
	feed(t, tr, true, ":irc.test 396 bot user/bot/cloak :is now your displayed host", ":bot!~bot@user/bot/cloak NICK bot2")
	if tr.mask != "bot2!~bot@user/bot/cloak" || tr.me != "bot2" {
		t.Fatalf("mask %q me %q", tr.mask, tr.me)
	}
}
