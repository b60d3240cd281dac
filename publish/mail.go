package publish

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/sectriage/sectriage/bot"
)

// Announcement is the mail to the announce and users lists: a subject and
// a text/plain UTF-8 body, clearsigned with the team key. Sending it (and
// encoding it quoted-printable, so no relay rewrites a line) is the mail
// adapter's job.
type Announcement struct {
	Subject string
	Body    []byte // the clearsigned text
}

// AnnouncementText is the announcement before signing: subject and body.
func AnnouncementText(a bot.Advisory, s Settings) (subject, body string, err error) {
	if err := s.Validate(); err != nil {
		return "", "", err
	}
	if err := checkPublished(a); err != nil {
		return "", "", err
	}
	subject = fmt.Sprintf("[%s security advisory %s] %s", s.Project, a.ID, a.Title)
	if len(a.CVEs) > 0 {
		subject = fmt.Sprintf("[%s security advisory %s] %s (%s)", s.Project, a.ID, a.Title, strings.Join(a.CVEs, ", "))
	}

	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s security advisory %s", s.Project, a.ID)
	line("%s", a.Title)
	line("")
	field := func(name, value string) {
		if value != "" {
			b.WriteString(fmt.Sprintf("%-13s", name+":") + wrap(value, 72-13, strings.Repeat(" ", 13)))
		}
	}
	field("Published", a.Published.UTC().Format("2006-01-02"))
	field("CVE", strings.Join(a.CVEs, ", "))
	field("Severity", severityText(a))
	field("CWE", strings.Join(a.CWEs, ", "))
	field("Fixed in", strings.Join(a.FixedVersions(), ", "))
	field("Advisory", s.pageURL(a))
	section := func(title, text string) {
		if strings.TrimSpace(text) == "" {
			return
		}
		line("")
		line("%s", title)
		line("%s", strings.Repeat("=", len(title)))
		line("")
		for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
			if i > 0 {
				line("")
			}
			b.WriteString(wrap(para, 72, ""))
		}
	}
	section("Summary", a.Summary)
	section("Description", a.Description)
	var affected []string
	for _, p := range a.Affected {
		for _, r := range p.Ranges {
			affected = append(affected, "- "+p.Product+" "+rangeText(r))
		}
	}
	section("Affected versions", strings.Join(affected, "\n"))
	section("Workarounds", a.Workarounds)
	var refs []string
	for _, r := range a.References {
		refs = append(refs, fmt.Sprintf("- %s: %s", r.Type, r.URL))
	}
	section("References", strings.Join(refs, "\n"))
	var credits []string
	for _, c := range a.PublishedCredits() {
		credits = append(credits, fmt.Sprintf("- %s (%s)", c.Name, c.Type))
	}
	section("Credits", strings.Join(credits, "\n"))
	var records []string
	records = append(records, "- OSV: "+s.advisoriesURL()+osvName(a, s))
	for _, id := range a.CVEs {
		records = append(records, fmt.Sprintf("- %s (CVE JSON 5): %s%s", id, s.advisoriesURL(), cveName(id)))
	}
	section("Machine-readable records", strings.Join(records, "\n"))
	return subject, b.String(), nil
}

// SignAnnouncement makes the announcement and clearsigns it with key, the
// team's key with its private part decrypted. Anyone with the team's
// public key can check it with `gpg --verify`.
func SignAnnouncement(a bot.Advisory, s Settings, key *openpgp.Entity, now time.Time) (Announcement, error) {
	subject, text, err := AnnouncementText(a, s)
	if err != nil {
		return Announcement{}, err
	}
	signer, ok := key.SigningKey(now)
	if !ok || signer.PrivateKey == nil {
		return Announcement{}, fmt.Errorf("publish: the team key has no usable signing key")
	}
	if signer.PrivateKey.Encrypted {
		return Announcement{}, fmt.Errorf("publish: the team key's signing key is still locked")
	}
	var out bytes.Buffer
	cfg := &packet.Config{Time: func() time.Time { return now }}
	w, err := clearsign.Encode(&out, signer.PrivateKey, cfg)
	if err != nil {
		return Announcement{}, fmt.Errorf("publish: clearsigning: %w", err)
	}
	if _, err := w.Write([]byte(text)); err != nil {
		return Announcement{}, err
	}
	if err := w.Close(); err != nil {
		return Announcement{}, fmt.Errorf("publish: clearsigning: %w", err)
	}
	out.WriteString("\n")
	return Announcement{Subject: subject, Body: out.Bytes()}, nil
}

func severityText(a bot.Advisory) string {
	if a.CVSS == "" {
		if a.Severity == bot.SeverityUnknown {
			return ""
		}
		return string(a.Severity)
	}
	sc, err := scoreVector(a.CVSS)
	if err != nil {
		return string(a.Severity)
	}
	return fmt.Sprintf("%s (CVSS %s base score %.1f, %s)", strings.ToLower(sc.Severity), sc.Version, sc.Score, sc.Vector)
}

// rangeText says a range in words: "1.4 branch: 1.4.0 up to, not
// including, 1.4.3".
func rangeText(r bot.VersionRange) string {
	var s string
	switch {
	case r.Introduced == "0" && r.Fixed != "":
		s = "before " + r.Fixed
	case r.Fixed != "":
		s = r.Introduced + " up to, not including, " + r.Fixed
	case r.Introduced == "0":
		s = "every version (no fix yet)"
	default:
		s = r.Introduced + " and later (no fix yet)"
	}
	if r.Branch != "" {
		s = "(" + r.Branch + "): " + s
	}
	return s
}

// wrap breaks one paragraph into lines of width characters after the
// indent, keeping its own line breaks, and indents continuation lines. A
// word longer than a line (a URL, a CVSS vector) stays whole. Trailing spaces go: a clearsigned text is
// verified without them anyway.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		col, hang := 0, indent
		if strings.HasPrefix(l, "- ") {
			hang += "  " // a list item's continuation lines hang under its text
		}
		for i, w := range strings.Fields(l) {
			switch {
			case i == 0:
			case col+1+len([]rune(w)) > width:
				b.WriteString("\n" + hang)
				col = len(hang) - len(indent)
			default:
				b.WriteString(" ")
				col++
			}
			b.WriteString(w)
			col += len([]rune(w))
		}
		b.WriteString("\n")
	}
	return b.String()
}
