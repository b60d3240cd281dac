package email

import (
	"strings"

	"github.com/sectriage/sectriage/bot"
)

// A signature speaks only for the bytes it was made over. The walker keeps
// the signatures whose signed content it is inside (scope); every part
// records which of them cover it; decrypting leaves the scope, because a
// signature over ciphertext says nothing about the plaintext. When the
// walk is done, each part shows the innermost signature covering it, and
// only a signature covering the whole content speaks for the report.

// register records a signature found in the message and returns its id
// (-1 for none), compared with the sender's From address.
func (w *walker) register(s bot.Signature) int {
	if s.Status == bot.SigNone {
		return -1
	}
	w.sigs = append(w.sigs, compareFrom(s, w.from))
	return len(w.sigs) - 1
}

// compareFrom sets s's From and whether a verified signer's user ids
// miss it.
func compareFrom(s bot.Signature, from string) bot.Signature {
	if s.Status != bot.SigVerified {
		return s
	}
	s.From, s.FromMismatch = from, true
	for _, e := range s.Emails {
		if from != "" && strings.EqualFold(e, from) {
			s.FromMismatch = false
		}
	}
	return s
}

// under walks with the signature id covering everything f adds.
func (w *walker) under(id int, f func() error) error {
	if id < 0 {
		return f()
	}
	w.scope = append(w.scope, id)
	defer func() { w.scope = w.scope[:len(w.scope)-1] }()
	return f()
}

// decrypted walks plaintext that came out of encryption: the signatures
// in scope were made over its ciphertext and cover none of it.
func (w *walker) decrypted(f func() error) error {
	for _, id := range w.scope {
		w.markOverCipher(id)
	}
	saved := w.scope
	w.scope = nil
	defer func() { w.scope = saved }()
	return f()
}

// markOverCipher records that signature id was made over data that was
// then decrypted.
func (w *walker) markOverCipher(id int) {
	if w.overCipher == nil {
		w.overCipher = map[int]bool{}
	}
	w.overCipher[id] = true
}

// addPart adds a part covered by the signatures in scope and by own (the
// part's own signature, -1 for none). decrypted says the part itself was
// decrypted: the scope's signatures were made over its ciphertext.
func (w *walker) addPart(p bot.ReportPart, own int, decrypted bool) {
	var covers []int
	if decrypted {
		for _, id := range w.scope {
			w.markOverCipher(id)
		}
	} else {
		covers = append(covers, w.scope...)
	}
	if own >= 0 {
		covers = append(covers, own)
	}
	w.rep.Parts = append(w.rep.Parts, p)
	w.covers = append(w.covers, covers)
}

// settleSignatures puts each signature on the parts it covers and picks
// the one over the whole content: every part that came through the
// encryption, or every part when none did. Text outside the encryption
// is labelled as such already, and never counts as the report.
func (w *walker) settleSignatures() {
	covered := make([]int, len(w.sigs))
	for _, ids := range w.covers {
		for _, id := range ids {
			covered[id]++
		}
	}
	for id := range w.sigs {
		w.sigs[id].OverCiphertext = w.overCipher[id] && covered[id] == 0
	}
	for i, ids := range w.covers {
		if len(ids) > 0 {
			w.rep.Parts[i].Signature = w.sigs[ids[len(ids)-1]]
		}
	}
	w.rep.Signatures = w.sigs

	enc := w.rep.Encrypted()
	content := 0
	for _, p := range w.rep.Parts {
		if p.Encrypted || !enc {
			content++
		}
	}
	best := -1
	for id, s := range w.sigs {
		if content == 0 || !w.coversAll(id, enc) {
			continue
		}
		if best < 0 || rank(compareFrom(s, w.sender)) > rank(compareFrom(w.sigs[best], w.sender)) {
			best = id
		}
	}
	if best >= 0 {
		// It speaks for the report, so it is compared with the report's
		// sender: a forwarded original's signer is not the forwarder.
		w.rep.Signature = compareFrom(w.sigs[best], w.sender)
	}
}

// coversAll reports whether signature id covers every content part.
func (w *walker) coversAll(id int, enc bool) bool {
	for i, p := range w.rep.Parts {
		if enc && !p.Encrypted {
			continue
		}
		found := false
		for _, c := range w.covers[i] {
			found = found || c == id
		}
		if !found {
			return false
		}
	}
	return true
}

// rank orders signatures over the whole content: the sender's verified
// key first.
func rank(s bot.Signature) int {
	switch {
	case s.Status == bot.SigVerified && !s.FromMismatch:
		return 3
	case s.Status == bot.SigVerified:
		return 2
	case s.Status == bot.SigBad:
		return 1 // a bad signature must show, not hide behind an unknown one
	}
	return 0
}
