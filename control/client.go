package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// ErrNoDaemon means no daemon serves the socket: the caller does the work
// itself. Any other error from a Client means the daemon was reached but
// did not confirm, and the caller must not assume anything was done.
var ErrNoDaemon = errors.New("no daemon is serving the control socket")

// Client talks to the daemon over its socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the socket at path. It connects only when
// a request is made.
func NewClient(path string) *Client {
	return &Client{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		// One request per process: nothing to keep alive.
		DisableKeepAlives: true,
	}}}
}

// Path is the socket's path.
func (c *Client) Path() string { return c.path }

// Ping reports whether a daemon answers.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, pathPing, nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("the daemon refused: %s", strings.TrimSpace(string(data)))
	}
	return nil
}

// Ingest hands a message to the daemon and returns once the daemon says
// its outcome is committed.
func (c *Client) Ingest(ctx context.Context, sub bot.Submission) (bot.IntakeResult, error) {
	h := http.Header{}
	if sub.Oversized {
		h.Set(headerSize, strconv.FormatInt(sub.Size, 10))
	}
	var rep ingestReply
	if err := c.call(ctx, pathIngest, h, sub.Raw, &rep); err != nil {
		return bot.IntakeResult{}, err
	}
	return bot.IntakeResult{ReportID: rep.Report, IncidentID: rep.Incident, QuarantineID: rep.Quarantine, Reason: rep.Reason, Duplicate: rep.Duplicate}, nil
}

// Command runs a command line in the daemon as the named person.
func (c *Client) Command(ctx context.Context, as, line string) (text string, failed bool, err error) {
	body, err := json.Marshal(commandRequest{As: as, Line: line})
	if err != nil {
		return "", false, err
	}
	var rep commandReply
	if err := c.call(ctx, pathCommand, nil, body, &rep); err != nil {
		return "", false, err
	}
	return rep.Text, rep.Failed, nil
}

func (c *Client) call(ctx context.Context, path string, h http.Header, body []byte, out any) error {
	resp, err := c.do(ctx, http.MethodPost, path, h, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("the daemon stopped answering (%v)", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the daemon refused: %s", strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the daemon's answer was cut off or garbled (%v)", err)
	}
	return nil
}

// do sends one request. Failing to connect at all is ErrNoDaemon; failing
// after that is not.
func (c *Client) do(ctx context.Context, method, path string, h http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://sectriage"+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return nil, fmt.Errorf("%w (%s: %v)", ErrNoDaemon, c.path, op.Err)
	}
	if err != nil {
		return nil, fmt.Errorf("the daemon did not answer (%v)", err)
	}
	return resp, nil
}
