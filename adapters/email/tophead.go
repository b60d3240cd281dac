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
	p    headerParser // its buffers, reused from one message to the next
	ok   bool
	hdr  []byte // a copy: the caller's message is not kept
	top  entity // without a body
	from string // the address of its From field
}

// top parses the top-level header of raw, or takes it from the memo. from
// is the address of its From field. The entity's header and parameters
// are shared with the memo: nothing writes to them. (It is returned by
// value: the caller's copy need not be allocated.)
func (d *Decoder) top(raw []byte) (e entity, from string, err error) {
	hdr, body := splitHeader(raw)
	m := &d.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.ok || !bytes.Equal(m.hdr, hdr) {
		m.ok = false
		if err := m.p.parseInto(&m.top, hdr, nil, d.limits.MaxHeaderBytes, nil); err != nil {
			return entity{}, "", err
		}
		m.ok, m.hdr, m.from = true, append(m.hdr[:0], hdr...), address(m.top.header, fieldFrom)
	}
	top := m.top
	top.body = body
	return top, m.from, nil
}
