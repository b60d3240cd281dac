package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// maxValueErrors bounds the decode-and-retry loop of decodeAll; a file
// with more wrong values than this has bigger problems.
const maxValueErrors = 50

// typeErrRE is the decoder's type mismatch, which it returns as a plain
// error with its position in the text.
var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// incompatibleRE is the decoder's wording of a type mismatch.
var incompatibleRE = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`)

// tomlTypeName names a decoded TOML value's Go type as the file writes it.
func tomlTypeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"):
		return "a number"
	case strings.HasPrefix(t, "float"):
		return "a decimal number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]map"):
		return "an array of tables"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map"):
		return "a table"
	case strings.Contains(t, "time"):
		return "a date or time"
	}
	return t
}

// goTypeName names a config field's type as the file must write it.
func goTypeName(t string) string {
	switch {
	case t == "string":
		return `a string ("...")`
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a whole number"
	case t == "bool":
		return "true or false"
	case strings.HasSuffix(t, "Duration"):
		return `a duration such as "48h" or "5d"`
	case strings.HasSuffix(t, "Size"):
		return `a size such as "25MiB"`
	case strings.HasPrefix(t, "[]"):
		return "an array [...]"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "config."), strings.HasPrefix(t, "*config."):
		return "a table"
	}
	return t
}

// decodeAll decodes src over the defaults and finds every wrong value, not
// only the first: the decoder stops at one, so each failing line is blanked
// (keeping the numbering) and the file decoded again. A syntax error stops
// everything: what follows it cannot be read reliably. The config returned
// holds defaults where values were wrong, so validation can still run.
func decodeAll(src, file string, loc *locator) (*Config, toml.MetaData, Problems) {
	if _, err := toml.Decode(src, &map[string]any{}); err != nil {
		return nil, toml.MetaData{}, Problems{syntaxProblem(err, file)}
	}
	lines := strings.Split(src, "\n")
	var ps Problems
	blanked := map[int]bool{}
	for {
		cfg := DefaultConfig()
		md, err := toml.Decode(strings.Join(lines, "\n"), cfg)
		if err == nil {
			return cfg, md, ps
		}
		p, ok := valueProblem(err, file, loc)
		if !ok || blanked[p.Line] || p.Line > len(lines) || len(ps) >= maxValueErrors {
			return nil, toml.MetaData{}, append(ps, p)
		}
		ps = append(ps, p)
		blanked[p.Line] = true
		lines[p.Line-1] = ""
		if _, err := toml.Decode(strings.Join(lines, "\n"), &map[string]any{}); err != nil {
			// The value spanned lines (a multi-line array): without it the
			// rest no longer parses, so stop with what was found.
			return nil, toml.MetaData{}, ps
		}
	}
}

func syntaxProblem(err error, file string) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return Problem{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	return Problem{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// valueProblem turns a decode error into a problem at its line, with the
// key written as validation writes it ("people[2].role"); ok is false when
// the error has no position.
func valueProblem(err error, file string, loc *locator) (Problem, bool) {
	line, key, msg := 0, "", strings.TrimPrefix(err.Error(), "toml: ")
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, key, msg = pe.Position.Line, pe.LastKey, pe.Message
	} else if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		key, msg = m[2], m[3]
		if m := incompatibleRE.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("wrong type: %s is written where %s is wanted", tomlTypeName(m[1]), goTypeName(m[2]))
		}
	}
	if k := loc.keyAt(line, key); k != "" {
		key = k
	}
	return Problem{File: file, Line: line, Key: key, Msg: msg}, line > 0
}

// unknownKeys names each key the decoder did not use, at its line, with
// the nearest known key of its table when the name looks misspelled.
func unknownKeys(md toml.MetaData, file string, loc *locator) Problems {
	var ps Problems
	for _, k := range md.Undecoded() {
		line := loc.lineOfUndecoded(k.String())
		key := k.String()
		if full := loc.keyAt(line, key); full != "" {
			key = full
		}
		last := strings.ToLower(k[len(k)-1])
		msg := "unknown key"
		if s := suggest(k); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		} else {
			msg += " (check the spelling against config.example.toml)"
		}
		for _, w := range secretWords {
			if strings.Contains(last, w) && !strings.HasSuffix(last, "_file") && !strings.HasSuffix(last, "_env") {
				msg = fmt.Sprintf("unknown key; secrets never go in the TOML: put it in a file and set %s_file, or use the environment", last)
			}
		}
		ps = append(ps, Problem{File: file, Line: line, Key: key, Msg: msg})
	}
	return ps
}

// suggest finds the known key closest to the last part of k in the same
// table, or a table of that name at the top level; "" if none is close.
func suggest(k toml.Key) string {
	t := reflect.TypeOf(Config{})
	for _, part := range k[:len(k)-1] {
		f, ok := fieldByTag(t, part)
		if !ok {
			return ""
		}
		t = f
	}
	name := k[len(k)-1]
	best, bestDist := "", len(name)/3+1 // one typo in short names, more in long ones
	if bestDist < 2 {
		bestDist = 2
	}
	for _, cand := range tags(t) {
		if d := editDistance(strings.ToLower(name), cand); d <= bestDist && (best == "" || d < bestDist) {
			best, bestDist = cand, d
		}
	}
	return best
}

// fieldByTag is the type under a table key, through pointers and arrays
// of tables.
func fieldByTag(t reflect.Type, tag string) (reflect.Type, bool) {
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && tagName(f) == tag {
			return elem(f.Type), true
		}
	}
	return nil, false
}

func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

func tags(t reflect.Type) []string {
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() && tagName(f) != "" {
			out = append(out, tagName(f))
		}
	}
	sort.Strings(out)
	return out
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortProblems orders problems by line, those without one last, keeping
// the order of problems on the same line.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Line, ps[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
