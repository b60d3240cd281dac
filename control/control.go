// Package control is the daemon's local control socket: `sectriage ingest`
// hands it a message and `sectriage cmd` a command, so that the daemon,
// which holds the team key unlocked and the database open, does the work
// and a short-lived process needs neither. The model is Tailscale's CLI and
// tailscaled's LocalAPI: HTTP over a Unix socket whose peer is identified
// by the kernel (SO_PEERCRED), not by anything it sends.
//
// The socket lives beside the database, mode 0660. A peer is served if it
// runs as the daemon's user, as root, or in the configured group.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sectriage/sectriage/bot"
)

// SocketName is the socket's file name in the state directory.
const SocketName = "control.sock"

// SocketPath is the socket beside the database at dbPath.
func SocketPath(dbPath string) string { return filepath.Join(filepath.Dir(dbPath), SocketName) }

// Handler is what the daemon does for the socket's clients.
type Handler interface {
	// Ingest runs a message through the intake pipeline; nil error means
	// its outcome is committed.
	Ingest(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error)
	// Command runs a command line as the named person (a [[people]] name;
	// anyone else is an outsider) and returns the reply as plain text.
	Command(ctx context.Context, as, line string) (text string, failed bool)
}

// Paths and headers of the protocol.
const (
	pathIngest    = "/v1/ingest"
	pathCommand   = "/v1/command"
	pathPing      = "/v1/ping"
	headerSize    = "Sectriage-Oversized-Size" // set when only the head of a larger message is sent
	maxCommandLen = 64 << 10
)

type ingestReply struct {
	Report     int64  `json:"report,omitempty"`
	Incident   int64  `json:"incident,omitempty"`
	Quarantine int64  `json:"quarantine,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Duplicate  bool   `json:"duplicate,omitempty"`
}

type commandRequest struct {
	As   string `json:"as"`
	Line string `json:"line"`
}

type commandReply struct {
	Text   string `json:"text"`
	Failed bool   `json:"failed"`
}

// Server serves the control socket.
type Server struct {
	path  string
	ln    *net.UnixListener
	allow Allow
	h     Handler
	log   *slog.Logger
	// maxMessage bounds an ingest body, as [intake] max_message_size
	// bounds what `sectriage ingest` reads.
	maxMessage int64
}

// Options configure Listen.
type Options struct {
	Allow Allow
	// Group, when not -1, owns the socket file, so its members can reach
	// it through the 0660 mode.
	Group      int
	MaxMessage int64
}

// ErrInUse means a live daemon already serves the socket.
var ErrInUse = errors.New("another daemon is serving the control socket")

// Listen creates the socket at path, replacing a stale one that nobody
// answers on. It refuses to take over a socket a live daemon serves
// (ErrInUse), and to remove anything at path that is not a socket.
func Listen(path string, h Handler, opts Options, log *slog.Logger) (*Server, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, ErrInUse)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("control socket %s: something else is there (%s); move it away", path, fi.Mode().Type())
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Only the daemon removes the file (on shutdown and on its next start):
	// a client closing its end must not.
	ln.SetUnlinkOnClose(false)
	if opts.Group >= 0 {
		if err := os.Chown(path, -1, opts.Group); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket %s: giving it to group %d: %w", path, opts.Group, err)
		}
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 25 << 20
	}
	return &Server{path: path, ln: ln, allow: opts.Allow, h: h, log: log.With("component", "control"), maxMessage: opts.MaxMessage}, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Run serves until ctx ends, then removes the socket. A request in
// progress is finished first: an ingest the daemon took on is committed
// or answered with an error, never cut off.
func (s *Server) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathPing, func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST "+pathIngest, s.ingest)
	mux.HandleFunc("POST "+pathCommand, s.command)
	srv := &http.Server{
		Handler:           s.checkPeer(mux),
		ConnContext:       withPeer,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(s.ln) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdown)
		<-done
	}
	os.Remove(s.path)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	sub := bot.Submission{Source: bot.SourcePipe}
	raw, err := io.ReadAll(io.LimitReader(r.Body, s.maxMessage+1))
	if err != nil {
		http.Error(w, "reading the message: "+err.Error(), http.StatusBadRequest)
		return
	}
	sub.Raw = raw
	if v := r.Header.Get(headerSize); v != "" {
		size, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "bad "+headerSize, http.StatusBadRequest)
			return
		}
		sub.Oversized, sub.Size = true, size
	}
	res, err := s.h.Ingest(r.Context(), sub)
	if err != nil {
		s.log.Error("a message handed over the control socket could not be stored; the sender will retry", "err", err)
		// Not the error itself: it may name what the message is about.
		http.Error(w, "the message could not be stored", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, ingestReply{Report: res.ReportID, Incident: res.IncidentID, Quarantine: res.QuarantineID, Reason: res.Reason, Duplicate: res.Duplicate})
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	var req commandRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxCommandLen)).Decode(&req); err != nil {
		http.Error(w, "bad command request", http.StatusBadRequest)
		return
	}
	text, failed := s.h.Command(r.Context(), req.As, req.Line)
	writeJSON(w, commandReply{Text: text, Failed: failed})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// Close closes the socket and removes it, for a daemon that stops before
// Run (Run does both itself when its ctx ends).
func (s *Server) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
	return err
}
