package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a config file, with where it is.
type Problem struct {
	File string
	Line int    // 0 when the key is absent and so is its section
	Key  string // "people[2].role"
	Msg  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found; it is an error when not empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problemSink collects problems while validating.
type problemSink struct {
	file string
	loc  *locator
	list Problems
}

func (s *problemSink) add(key, format string, args ...any) {
	line := 0
	if s.loc != nil {
		line = s.loc.line(key)
	}
	s.list = append(s.list, Problem{File: s.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Line is the line of key ("sigs[2].lead") in the file, or of its nearest
// enclosing table; 0 when neither is written there.
func (c *Config) Line(key string) int {
	if c.loc == nil {
		return 0
	}
	return c.loc.line(key)
}
