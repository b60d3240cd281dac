package bot_test

import (
	"testing"

	"github.com/sectriage/sectriage/bot"
)

// TestStageOfEveryState: every state, and every way to close, maps to a
// stage a reporter is told; nothing falls through to a default by accident.
func TestStageOfEveryState(t *testing.T) {
	want := map[bot.State]bot.ReporterStage{
		bot.StateNew: bot.StageReceived, bot.StateTriage: bot.StageConfirmed,
		bot.StateFixing: bot.StageFixing, bot.StateDisclosed: bot.StagePublished,
	}
	for _, s := range bot.States {
		if s == bot.StateClosed {
			continue
		}
		got, ok := want[s]
		if !ok {
			t.Errorf("state %s has no expected stage: add it", s)
		}
		if st := bot.StageOf(s, ""); st != got {
			t.Errorf("%s → %s, want %s", s, st, got)
		}
	}
	for reason, stage := range map[string]bot.ReporterStage{"fixed": bot.StagePublished, "rejected": bot.StageClosed,
		"wontfix": bot.StageClosed, "duplicate of SEC-3": bot.StageClosed} {
		if got := bot.StageOf(bot.StateClosed, reason); got != stage {
			t.Errorf("closed (%s) → %s, want %s", reason, got, stage)
		}
	}
}

func TestStatusTokensAreRandomAndHashed(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		token, hash := bot.NewStatusToken()
		if len(token) != 43 || seen[token] || hash != bot.HashStatusToken(token) || len(hash) != 64 {
			t.Fatalf("token %q hash %q", token, hash)
		}
		seen[token] = true
	}
}
