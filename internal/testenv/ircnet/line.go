package ircnet

import (
	"strings"
	"time"
)

// Line is one message received from the server, split into its parts.
// Tests match on the parts rather than the raw text, because InspIRCd adds
// tags (time, msgid, inspircd.org/...) whose order and values change.
type Line struct {
	Raw     string
	Tags    map[string]string // IRCv3 tags, values unescaped; nil when none
	Prefix  string            // "nick!user@host" or a server name; "" when none
	Command string            // upper case: "PRIVMSG", "001", ...
	Params  []string          // the trailing parameter is the last element
	At      time.Time         // when the client read it
}

// Nick returns the nick part of the prefix.
func (l Line) Nick() string {
	nick, _, _ := strings.Cut(l.Prefix, "!")
	return nick
}

// Param returns the i-th parameter, or "" when there are fewer.
func (l Line) Param(i int) string {
	if i < 0 || i >= len(l.Params) {
		return ""
	}
	return l.Params[i]
}

// Tag returns a tag's value and whether the tag was present at all, so that
// a test can tell "no account tag" from "account tag with empty value".
func (l Line) Tag(key string) (string, bool) {
	v, ok := l.Tags[key]
	return v, ok
}

// String returns the raw line, so failure messages show what was received.
func (l Line) String() string { return l.Raw }

// ParseLine splits a raw IRC line (without CRLF) into tags, prefix, command
// and parameters. It never fails: malformed input yields what could be read.
func ParseLine(raw string) Line {
	l := Line{Raw: raw}
	s := raw
	if strings.HasPrefix(s, "@") {
		var tags string
		tags, s, _ = strings.Cut(s[1:], " ")
		l.Tags = make(map[string]string)
		for _, kv := range strings.Split(tags, ";") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			l.Tags[k] = unescapeTag(v)
		}
		s = strings.TrimLeft(s, " ")
	}
	if strings.HasPrefix(s, ":") {
		l.Prefix, s, _ = strings.Cut(s[1:], " ")
		s = strings.TrimLeft(s, " ")
	}
	var cmd string
	cmd, s, _ = strings.Cut(s, " ")
	l.Command = strings.ToUpper(cmd)
	for s != "" {
		s = strings.TrimLeft(s, " ")
		if strings.HasPrefix(s, ":") {
			l.Params = append(l.Params, s[1:])
			break
		}
		var p string
		p, s, _ = strings.Cut(s, " ")
		if p != "" {
			l.Params = append(l.Params, p)
		}
	}
	return l
}

// unescapeTag undoes the IRCv3 tag-value escaping.
func unescapeTag(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b.WriteByte(v[i])
			continue
		}
		i++
		if i == len(v) {
			break // a trailing lone backslash is dropped
		}
		switch v[i] {
		case ':':
			b.WriteByte(';')
		case 's':
			b.WriteByte(' ')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// Cmd returns a matcher for Expect: the command, then the leading parameters
// given, compared exactly (channel names are case-sensitive here on purpose;
// tests use the spelling they joined with).
func Cmd(command string, params ...string) func(Line) bool {
	command = strings.ToUpper(command)
	return func(l Line) bool {
		if l.Command != command || len(l.Params) < len(params) {
			return false
		}
		for i, p := range params {
			if l.Params[i] != p {
				return false
			}
		}
		return true
	}
}
