package email

import (
	"bytes"
	"sync"
)

// Intake asks Envelope about a message, then Decode, and both start from
// its top-level header: the decoder remembers the last one it parsed, so
// the second call reuses it. The memo is taken only for a header of
// exactly the same bytes (parsing is a function of them, under limits
// that never change), so what came in between, from another source at
// the same time, changes only the cost.
type topMemo struct {
	mu   sync.Mutex
	ok   bool
	hdr  []byte // a copy: the caller's message is not kept
	top  entity // without a body
	from string // the address of its From field
}

// top parses the top-level header of raw, or takes it from the memo. from
// is the address of its From field.
func (d *Decoder) top(raw []byte) (e *entity, from string, err error) {
	hdr, body := splitHeader(raw)
	if e, from, ok := d.memo.get(hdr); ok {
		e.body = body
		return e, from, nil
	}
	var p headerParser
	if e, err = p.parse(hdr, body, d.limits.MaxHeaderBytes); err != nil {
		return nil, "", err
	}
	from = address(e.header, fieldFrom)
	d.memo.put(hdr, e, from)
	return e, from, nil
}

// get returns a copy of the remembered entity (its header and parameters
// are shared: nothing writes to them) if it was parsed from hdr.
func (m *topMemo) get(hdr []byte) (*entity, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ok || !bytes.Equal(m.hdr, hdr) {
		return nil, "", false
	}
	e := m.top
	return &e, m.from, true
}

func (m *topMemo) put(hdr []byte, e *entity, from string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ok, m.hdr, m.top, m.from = true, append(m.hdr[:0], hdr...), *e, from
	m.top.body = nil
}
