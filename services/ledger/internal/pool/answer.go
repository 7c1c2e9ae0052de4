package pool

import (
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// answer is an Outcome as the pool keeps it in applied, for
// AppliedRetention: its two times as Unix seconds and nanoseconds rather
// than time.Time (24 bytes each, a location pointer among them), so 88 bytes
// an entry against Outcome's 112. The map holds one entry per event id of
// the last 48 hours, the bulk of a busy pool's memory, and grows on every
// decision. Every time an answer holds is UTC (timestamppb's AsTime, or a
// snapshot's "Z"), which outcome restores exactly. A snapshot holds the
// Outcomes they stand for.
type answer struct {
	fingerprint, windowID string
	tokens, balanceAfter  int64
	atSec, windowEndSec   int64
	atNsec, windowEndNsec int32
	decision              v1.Decision
	denyReason            v1.DenyReason
	keepRunning           bool
	bySubscription        bool
}

// Remembered is how many answered event ids the pool keeps: most of its
// state, and of its snapshot.
func (p *Pool) Remembered() int { return len(p.applied) }

func answerOf(o Outcome) answer {
	return answer{
		fingerprint: o.Fingerprint, windowID: o.WindowID, tokens: o.Tokens, balanceAfter: o.BalanceAfter,
		atSec: o.At.Unix(), atNsec: int32(o.At.Nanosecond()),
		windowEndSec: o.WindowEnd.Unix(), windowEndNsec: int32(o.WindowEnd.Nanosecond()),
		decision: o.Decision, denyReason: o.DenyReason, keepRunning: o.KeepRunning,
		bySubscription: o.BySubscription,
	}
}

// outcome is the Outcome a was made of. A zero time.Time comes back as
// itself: its Unix seconds, made UTC, are the zero Time again.
func (a *answer) outcome() Outcome {
	return Outcome{
		Decision: a.decision, DenyReason: a.denyReason, Tokens: a.tokens, WindowID: a.windowID,
		WindowEnd: time.Unix(a.windowEndSec, int64(a.windowEndNsec)).UTC(), BalanceAfter: a.balanceAfter,
		At: a.at(), Fingerprint: a.fingerprint, KeepRunning: a.keepRunning,
		BySubscription: a.bySubscription,
	}
}

func (a *answer) at() time.Time { return time.Unix(a.atSec, int64(a.atNsec)).UTC() }
