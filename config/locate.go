package config

import (
	"fmt"
	"regexp"
	"strings"
)

// locator maps key paths to the line where they appear, because the TOML
// decoder reports unknown keys and our own validation errors without
// positions. Paths index arrays of tables from 1: "people[2].role".
type locator struct {
	lines map[string]int
}

var (
	tableRE = regexp.MustCompile(`^\s*\[\s*([A-Za-z0-9_.\-" ]+?)\s*\]\s*(#.*)?$`)
	arrayRE = regexp.MustCompile(`^\s*\[\[\s*([A-Za-z0-9_.\-" ]+?)\s*\]\]\s*(#.*)?$`)
	keyRE   = regexp.MustCompile(`^\s*([A-Za-z0-9_\-]+|"[^"]*")\s*=`)
)

func newLocator(src string) *locator {
	l := &locator{lines: map[string]int{}}
	counts := map[string]int{} // array-of-tables name -> elements seen
	prefix := ""
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if m := arrayRE.FindStringSubmatch(line); m != nil {
			name := normKey(m[1])
			counts[name]++
			prefix = fmt.Sprintf("%s[%d]", name, counts[name])
			l.set(prefix, n)
			continue
		}
		if m := tableRE.FindStringSubmatch(line); m != nil {
			prefix = inArray(normKey(m[1]), counts)
			l.set(prefix, n)
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			key := strings.Trim(m[1], `"`)
			if prefix != "" {
				key = prefix + "." + key
			}
			l.set(key, n)
		}
	}
	return l
}

// inArray places a sub-table of an array of tables ([sigs.rotation] after
// the second [[sigs]]) under its element: "sigs[2].rotation".
func inArray(name string, counts map[string]int) string {
	parts := strings.Split(name, ".")
	for i := len(parts) - 1; i >= 1; i-- {
		if n := counts[strings.Join(parts[:i], ".")]; n > 0 {
			return fmt.Sprintf("%s[%d].%s", strings.Join(parts[:i], "."), n, strings.Join(parts[i:], "."))
		}
	}
	return name
}

func normKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"`)
	}
	return strings.Join(parts, ".")
}

func (l *locator) set(key string, line int) {
	if _, ok := l.lines[key]; !ok {
		l.lines[key] = line
	}
}

// line finds the line of path, or of its nearest enclosing key or table;
// 0 if none is known (the key is missing and so is its table).
func (l *locator) line(path string) int {
	for p := path; p != ""; {
		if n, ok := l.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// lineOfUndecoded finds an unknown key reported without array indices
// ("people.nmae"): the first line whose path, indices removed, matches.
func (l *locator) lineOfUndecoded(key string) int {
	best := 0
	for p, n := range l.lines {
		if stripIndices(p) == key && (best == 0 || n < best) {
			best = n
		}
	}
	if best != 0 {
		return best
	}
	// A key inside an inline table: report the line of the table's key.
	if i := strings.LastIndex(key, "."); i > 0 {
		return l.lineOfUndecoded(key[:i])
	}
	return 0
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

func stripIndices(p string) string { return indexRE.ReplaceAllString(p, "") }

// keyAt writes key, as the decoder names it without array indices
// ("people.role"), with the indices of the element on line
// ("people[2].role"); "" if no key or table on line matches. A key inside
// an inline table is found through the table's own key.
func (l *locator) keyAt(line int, key string) string {
	if line <= 0 {
		return ""
	}
	best := ""
	for p, n := range l.lines {
		if n != line {
			continue
		}
		sp := stripIndices(p)
		switch {
		case sp == key:
			return p
		case strings.HasPrefix(key, sp+".") && len(p) > len(best):
			best = p + key[len(sp):]
		}
	}
	return best
}
