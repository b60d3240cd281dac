package email

// MemoizedPartHeaders returns copies of the cleaned part headers d
// remembers (see partMemo).
func (d *Decoder) MemoizedPartHeaders() []string {
	d.parts.mu.Lock()
	defer d.parts.mu.Unlock()
	var out []string
	for _, s := range d.parts.slots {
		if s.ok {
			out = append(out, string(s.clean))
		}
	}
	return out
}
