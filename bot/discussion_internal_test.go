package bot

import "testing"

// TestDiscussionTextUndoesEveryMark: for every kind of message Discuss
// records, DiscussionText gives back what was said (what the advisory
// draft copies), and nothing for a deletion. (An unmarked message that
// itself begins with a mark loses it: the record keeps text, not flags.)
func TestDiscussionTextUndoesEveryMark(t *testing.T) {
	for _, edited := range []bool{false, true} {
		for _, thread := range []bool{false, true} {
			for _, deleted := range []bool{false, true} {
				said := Said{Text: "the fix (edited) is in 2.4.1", Edited: edited, Thread: thread, Deleted: deleted}
				if edited || thread {
					// Only the mark Discuss added comes off.
					said.Text = "(in a thread) " + said.Text
				}
				got, ok := DiscussionText(Event{Kind: EventDiscussion, Details: recorded(said)})
				if deleted {
					if ok {
						t.Errorf("%+v: a deletion gives %q", said, got)
					}
					continue
				}
				if !ok || got != said.Text {
					t.Errorf("%+v: recorded %q, DiscussionText %q %v", said, recorded(said), got, ok)
				}
			}
		}
	}
	if _, ok := DiscussionText(Event{Kind: EventNote, Details: "a note"}); ok {
		t.Error("a note is not discussion")
	}
}
