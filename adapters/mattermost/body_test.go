package mattermost

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOversizedBodies: both callbacks answer 413 for a body over their
// own limit (below the listener's), whatever its content type.
func TestOversizedBodies(t *testing.T) {
	w := newFakeWorld(t, nil)
	srv := httptest.NewServer(w.a.Handler())
	defer srv.Close()
	big := strings.Repeat("x", maxBody+1)
	for _, path := range []string{CommandPath, ActionPath} {
		for _, ctype := range []string{"application/x-www-form-urlencoded", "application/json", "multipart/form-data; boundary=b", "application/octet-stream"} {
			for _, chunked := range []bool{false, true} {
				var r io.Reader = bytes.NewReader([]byte("text=" + big))
				if chunked {
					r = io.MultiReader(r)
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+path, r)
				req.Header.Set("Content-Type", ctype)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("%s %s chunked %v: %d", path, ctype, chunked, resp.StatusCode)
				}
			}
		}
	}
}
