package bot

import "testing"

// TestAcknowledgementText: the reporter's acknowledgement, with and
// without a status link, word for word, as one plain span (it is written
// whole; Text would merge line-by-line plain text into one span anyway).
func TestAcknowledgementText(t *testing.T) {
	inc := &Incident{ID: 7}
	head := "Hello,\n\nthank you for your report. We received it and track it as SEC-7.\n" +
		"To add anything, reply to this mail: the reply address is your report's own.\n\n"
	tail := "When we publish an advisory about it, we would like to credit you. Reply with the name to\n" +
		"credit (and an organisation, if you like), or with \"no credit\": we credit nobody without consent.\n\n" +
		"The security team"
	link := "You can follow its state and add information (encrypted in your browser) at this private link;\n" +
		"keep it to yourself, anyone who has it can see the state and add to the report:\n" +
		"https://sec.example.org/status/abc\n\n"
	for statusLink, want := range map[string]string{"": head + tail, "https://sec.example.org/status/abc": head + link + tail} {
		got := acknowledgement(inc, statusLink)
		if len(got.Spans) != 1 || got.Spans[0].Kind != SpanPlain || got.Spans[0].Text != want {
			t.Errorf("link %q: got %+v\nwant one plain span %q", statusLink, got.Spans, want)
		}
	}
}
