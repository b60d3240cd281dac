package email

import (
	"bytes"
	"sync"
)

// The parts of a PGP/MIME message outside its encryption (the "Version: 1"
// part, the part holding the encrypted data) carry the same header in
// every message a mail program sends, and parsing one costs more than a
// dozen allocations. So the decoder remembers the last few such headers it
// parsed, by their cleaned bytes (cleanHeader's output, all the parse
// reads; the limits never change): a hit changes only the cost, never the
// result. Headers from inside encryption never go in: the decoder keeps
// nothing decrypted beyond the message it is reading.

const (
	partMemoSlots    = 8
	partMemoMaxBytes = 1 << 10 // a long header seldom repeats
)

// partMemo is the decoder's memo of part headers. A nil *partMemo
// remembers nothing.
type partMemo struct {
	mu    sync.Mutex
	slots [partMemoSlots]memoSlot
	next  int // the slot to fill next: the oldest
}

type memoSlot struct {
	clean []byte // a copy
	e     entity // without a body; its header and parameters are shared, and nothing writes to them
	ok    bool
}

// get returns the entity (without a body) parsed from the cleaned header
// clean, if remembered.
func (m *partMemo) get(clean []byte) (entity, bool) {
	if m == nil || len(clean) > partMemoMaxBytes {
		return entity{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.slots {
		if s := &m.slots[i]; s.ok && bytes.Equal(s.clean, clean) {
			return s.e, true
		}
	}
	return entity{}, false
}

// put remembers e, parsed from the cleaned header clean.
func (m *partMemo) put(clean []byte, e *entity) {
	if m == nil || len(clean) > partMemoMaxBytes {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.slots[m.next]
	m.next = (m.next + 1) % partMemoSlots
	s.clean, s.e, s.ok = append(s.clean[:0], clean...), *e, true
	s.e.body = nil
}
