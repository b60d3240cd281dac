package commands

import (
	"fmt"
	"strings"
)

// Split breaks a command line into words. Double or single quotes group
// words; inside double quotes a backslash escapes the next character, so
// `note 42 "it is \"bad\""` gives [note 42 it is "bad"].
func Split(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		quoteAt int
	)
	runes := []rune(line)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == '"' && r == '\\' && i+1 < len(runes):
			i++
			cur.WriteRune(runes[i])
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, quoteAt, inWord = r, i+1, true
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("the quote %c at column %d is never closed", quote, quoteAt)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Normalize turns what each platform delivers into the same command line:
// "/sec claim 42", "!claim 42" and "claim 42" all become "claim 42". It
// reports false when line does not start with one of the prefixes (an
// empty prefix accepts any line).
func Normalize(line string, prefixes ...string) (string, bool) {
	line = strings.TrimSpace(line)
	for _, p := range prefixes {
		if p == "" {
			return line, true
		}
		if len(line) >= len(p) && strings.EqualFold(line[:len(p)], p) {
			rest := line[len(p):]
			// "/sec" must be a whole word; "!" glues to the command.
			if strings.HasSuffix(p, " ") || !isLetter(p[len(p)-1]) || rest == "" || rest[0] == ' ' {
				return strings.TrimSpace(rest), true
			}
		}
	}
	return "", false
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
