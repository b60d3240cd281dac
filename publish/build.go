package publish

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// ContentSecurityPolicy is sent with every page: nothing but this site's
// own stylesheet and icon loads, no script runs, no form posts elsewhere,
// and no other site frames the pages.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Site is every published file, by path relative to the site root
// ("advisories/index.html", "security/index.html", …), rendered once.
type Site struct {
	Files map[string][]byte
}

// Build renders the pages, feed and records of the published advisories
// and the security policy page. The same files are served by Handler and
// written by WriteDir, so the listener and a static copy never differ.
func Build(s Settings, p Policy, advisories []bot.Advisory) (*Site, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	list := slices.Clone(advisories)
	// Newest first; the id breaks ties so the output is stable.
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Published.Equal(list[j].Published) {
			return list[i].Published.After(list[j].Published)
		}
		return list[i].ID > list[j].ID
	})
	files := map[string][]byte{}
	add := func(name string, b []byte) error {
		if _, dup := files[name]; dup {
			return fmt.Errorf("publish: two outputs are named %s (a repeated advisory id or CVE id)", name)
		}
		files[name] = b
		return nil
	}
	var views []advisoryView
	for _, a := range list {
		if err := checkPublished(a); err != nil {
			return nil, err
		}
		v := viewOf(a, s)
		views = append(views, v)
		html, err := render("advisory.html", page{Title: a.Title + " (" + a.ID + ")", Project: s.Project, Root: "../", Advisory: &v})
		if err != nil {
			return nil, err
		}
		if err := add("advisories/"+pageName(a), html); err != nil {
			return nil, err
		}
		osv, err := OSVRecord(a, s)
		if err != nil {
			return nil, err
		}
		if err := add("advisories/"+osvName(a, s), osv); err != nil {
			return nil, err
		}
		cves, err := CVERecords(a, s)
		if err != nil {
			return nil, err
		}
		for id, rec := range cves {
			if err := add("advisories/"+cveName(id), rec); err != nil {
				return nil, err
			}
		}
	}
	index, err := render("index.html", page{Title: s.Project + " security advisories", Project: s.Project, Root: "../", Advisories: views})
	if err != nil {
		return nil, err
	}
	security, err := render("security.html", page{Title: s.Project + " security policy", Project: s.Project, Root: "../",
		Policy: policyViewOf(p, list)})
	if err != nil {
		return nil, err
	}
	feed, err := atomFeed(s, views)
	if err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{
		"advisories/index.html": index, "security/index.html": security, "advisories/feed.atom": feed,
		"advisories/style.css": mustAsset("templates/style.css"), "advisories/icon.svg": mustAsset("templates/icon.svg"),
	} {
		if err := add(name, b); err != nil {
			return nil, err
		}
	}
	return &Site{Files: files}, nil
}

func mustAsset(name string) []byte {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time: cannot be missing
	}
	return b
}

// Atom (RFC 4287) feed of the advisories.
type atomFeedXML struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomAuthor  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title     string   `xml:"title"`
	ID        string   `xml:"id"`
	Updated   string   `xml:"updated"`
	Published string   `xml:"published"`
	Link      atomLink `xml:"link"`
	Summary   string   `xml:"summary"`
}

func atomFeed(s Settings, views []advisoryView) ([]byte, error) {
	f := atomFeedXML{
		Title:  s.Project + " security advisories",
		ID:     s.advisoriesURL(),
		Author: atomAuthor{Name: s.Project + " security team"},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: s.advisoriesURL() + "feed.atom"},
			{Rel: "alternate", Type: "text/html", Href: s.advisoriesURL()},
		},
	}
	var updated time.Time
	for _, v := range views {
		if v.modified.After(updated) {
			updated = v.modified
		}
		title := v.Title
		if len(v.CVEs) > 0 {
			title += " (" + strings.Join(v.CVEs, ", ") + ")"
		}
		f.Entries = append(f.Entries, atomEntry{
			Title: title, ID: v.url, Updated: cveTime(v.modified), Published: cveTime(v.published),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: v.url}, Summary: v.Summary,
		})
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0) // no advisory yet: a fixed date keeps the file stable
	}
	f.Updated = cveTime(updated)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// contentType names each output's media type; every file gets a charset
// where it has text, so no browser sniffs.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	case ".atom":
		return "application/atom+xml; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Handler serves the site from the root: /advisories/ and /security/
// (their index pages), and every file by its path. Mount it at "/" or
// under http.StripPrefix.
func (s *Site) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "advisories" || name == "security" {
			http.Redirect(w, r, "/"+name+"/", http.StatusMovedPermanently)
			return
		}
		if name == "" || strings.HasSuffix(name, "/") {
			name += "index.html"
		}
		b, ok := s.Files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", contentType(name))
		h.Set("Cache-Control", "public, max-age=300")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	})
}

// WriteDir writes every file under dir for a static site, replacing each
// file atomically (a reader never sees half a page), so it can run again
// after a fix. Files of advisories no longer published are left alone.
func (s *Site) WriteDir(dir string) error {
	names := make([]string, 0, len(s.Files))
	for name := range s.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-*")
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		_, werr := tmp.Write(s.Files[name])
		cerr := tmp.Close()
		if err := firstErr(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("publish: writing %s: %w", dst, err)
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("publish: %w", err)
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
