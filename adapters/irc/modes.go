package irc

import (
	"sort"
	"strconv"
	"strings"
)

// isupport is what the server's 005 lines tell us that this adapter relies
// on. girc parses them too, but its mode tracking never removes -k or -m
// and races, so privacy decisions use this parser instead.
type isupport struct {
	// CHANMODES groups: A lists (always a parameter), B settings that
	// always take one, C settings that take one only when set, D flags.
	listModes, alwaysArg, setArg, flagModes string
	prefixModes, prefixChars                string // PREFIX=(ov)@+
	casemapping                             string
	nickLen, userLen, hostLen               int
	whox                                    bool
}

// defaultISupport is what RFC 1459 servers have, used until 005 arrives.
func defaultISupport() isupport {
	return isupport{
		listModes: "beI", alwaysArg: "k", setArg: "l", flagModes: "imnpst",
		prefixModes: "ov", prefixChars: "@+", casemapping: "rfc1459",
		nickLen: 30, userLen: 10, hostLen: 64,
	}
}

// parse reads the tokens of one 005 line (without our nick and the
// trailing "are supported by this server").
func (is *isupport) parse(tokens []string) {
	for _, tok := range tokens {
		key, val, _ := strings.Cut(tok, "=")
		switch strings.ToUpper(key) {
		case "CHANMODES":
			g := strings.SplitN(val, ",", 4)
			for len(g) < 4 {
				g = append(g, "")
			}
			is.listModes, is.alwaysArg, is.setArg, is.flagModes = g[0], g[1], g[2], g[3]
		case "PREFIX":
			// (ov)@+
			if modes, chars, ok := strings.Cut(strings.TrimPrefix(val, "("), ")"); ok && len(modes) == len(chars) {
				is.prefixModes, is.prefixChars = modes, chars
			}
		case "CASEMAPPING":
			is.casemapping = strings.ToLower(val)
		case "NICKLEN", "MAXNICKLEN":
			is.nickLen = atoiOr(val, is.nickLen)
		case "USERLEN":
			is.userLen = atoiOr(val, is.userLen)
		case "HOSTLEN":
			is.hostLen = atoiOr(val, is.hostLen)
		case "WHOX":
			is.whox = true
		}
	}
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// fold maps a nick or channel name to the form the server compares.
func (is *isupport) fold(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
		case is.casemapping == "ascii":
		case c >= '[' && c <= ']', c == '^' && is.casemapping == "rfc1459":
			// rfc1459: []\^ are the upper case of {}|~; strict-rfc1459 leaves ^ alone.
			b[i] = c + 32
		}
	}
	return string(b)
}

// takesArg says whether mode c consumes a parameter when added or removed.
func (is *isupport) takesArg(c byte, adding bool) bool {
	switch {
	case strings.IndexByte(is.prefixModes, c) >= 0,
		strings.IndexByte(is.listModes, c) >= 0,
		strings.IndexByte(is.alwaysArg, c) >= 0:
		return true
	case strings.IndexByte(is.setArg, c) >= 0:
		return adding
	}
	return false
}

// chanModes is a channel's current setting and flag modes (lists such as
// bans are not kept).
type chanModes struct {
	set map[byte]string // mode -> parameter ("" for flags)
}

// modeChange is one mode in a MODE line, for the caller to act on prefix
// changes (op status).
type modeChange struct {
	add  bool
	mode byte
	arg  string
}

// parseModes splits "+sk-m key" into changes, consuming parameters the way
// the server's CHANMODES and PREFIX say.
func (is *isupport) parseModes(modestr string, args []string) []modeChange {
	var out []modeChange
	add := true
	for i := 0; i < len(modestr); i++ {
		c := modestr[i]
		switch c {
		case '+':
			add = true
			continue
		case '-':
			add = false
			continue
		}
		ch := modeChange{add: add, mode: c}
		if is.takesArg(c, add) && len(args) > 0 {
			ch.arg, args = args[0], args[1:]
		}
		out = append(out, ch)
	}
	return out
}

// apply records changes: -k and -m remove the mode, which girc v1.1.2 gets
// wrong. List and prefix modes are not channel settings and are skipped.
func (m *chanModes) apply(is *isupport, changes []modeChange) {
	if m.set == nil {
		m.set = map[byte]string{}
	}
	for _, ch := range changes {
		if strings.IndexByte(is.listModes, ch.mode) >= 0 || strings.IndexByte(is.prefixModes, ch.mode) >= 0 {
			continue
		}
		if ch.add {
			m.set[ch.mode] = ch.arg
		} else {
			delete(m.set, ch.mode)
		}
	}
}

func (m chanModes) has(c byte) bool {
	_, ok := m.set[c]
	return ok
}

// private is the rule of SPEC §3: secret (+s), and closed by invitation
// (+i) or a key (+k).
func (m chanModes) private() bool {
	return m.has('s') && (m.has('i') || m.has('k'))
}

// String shows the modes without the key's value, for logs and alarms.
func (m chanModes) String() string {
	var flags []byte
	for c := range m.set {
		flags = append(flags, c)
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i] < flags[j] })
	return "+" + string(flags)
}

// missingPrivacy returns the MODE change that makes the channel private:
// +s, and +k with key when there is one, else +i.
func (m chanModes) missingPrivacy(key string) (modes string, args []string) {
	if !m.has('s') {
		modes += "s"
	}
	if !m.has('i') && !m.has('k') {
		if key != "" {
			modes += "k"
			args = append(args, key)
		} else {
			modes += "i"
		}
	}
	if modes == "" {
		return "", nil
	}
	return "+" + modes, args
}
