package bot

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RouteRules say which reports belong to a SIG.
type RouteRules struct {
	// Keywords match whole words of the subject or body, ignoring case.
	Keywords []string
	// Regex match anywhere in the subject or body.
	Regex []*regexp.Regexp
	// Addresses match a recipient of the report (security+core@...),
	// ignoring case.
	Addresses []string
}

// ReportFacts are what routing looks at. Subject and Body are decrypted,
// untrusted text; Recipients are the addresses the report was sent to.
type ReportFacts struct {
	Subject    string
	Body       string
	Recipients []string
}

// Route picks the SIG for a report: a recipient address names a SIG most
// clearly, then rules on the subject, then rules on the body, each in
// config order; the default SIG takes the rest. why says which rule
// matched, for the incident's "created" event.
func (s *Settings) Route(f ReportFacts) (sig, why string) {
	for _, g := range s.SIGs {
		for _, want := range g.Route.Addresses {
			for _, got := range f.Recipients {
				if strings.EqualFold(strings.TrimSpace(got), want) {
					return g.Name, "sent to " + want
				}
			}
		}
	}
	for _, part := range []struct{ name, text string }{{"subject", f.Subject}, {"body", f.Body}} {
		if part.text == "" {
			continue
		}
		for _, g := range s.SIGs {
			for _, k := range g.Route.Keywords {
				if containsWord(part.text, k) {
					return g.Name, "keyword " + k + " in the " + part.name
				}
			}
			for _, re := range g.Route.Regex {
				if re.MatchString(part.text) {
					return g.Name, "pattern " + re.String() + " in the " + part.name
				}
			}
		}
	}
	if s.SIG(s.DefaultSIG) != nil {
		return s.SIG(s.DefaultSIG).Name, "no routing rule matched"
	}
	return "", "no routing rule matched and there is no default SIG"
}

// containsWord reports whether word occurs in text, ignoring case, and not
// as part of a longer word ("sip" is not in "gossip").
func containsWord(text, word string) bool {
	if word == "" {
		return false
	}
	lt, lw := strings.ToLower(text), strings.ToLower(word)
	for from := 0; ; {
		i := strings.Index(lt[from:], lw)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(lw)
		if !wordRuneBefore(lt, i) && !wordRuneAt(lt, end) {
			return true
		}
		from = i + 1
	}
}

func wordRuneBefore(s string, i int) bool {
	r, n := utf8.DecodeLastRuneInString(s[:i])
	return n > 0 && isWordRune(r)
}

func wordRuneAt(s string, i int) bool {
	r, n := utf8.DecodeRuneInString(s[i:])
	return n > 0 && isWordRune(r)
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
