package testkit

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// keptLogLines bounds what FailureLog holds: enough to see what a stack did
// in the seconds before a failure, not a whole run's worth.
const keptLogLines = 400

// FailureLog returns a logger whose last keptLogLines lines are printed
// with the test's output if the test fails, and dropped if it passes: a
// stack that logs nothing while tests pass still says what it did when one
// fails (a projector retrying, a store refusing).
func FailureLog(t testing.TB) *slog.Logger {
	r := &logRing{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the stack's log (its last %d lines at most):\n%s", keptLogLines, r.String())
		}
	})
	return slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// logRing keeps the last keptLogLines writes (a slog handler writes one
// line each).
type logRing struct {
	mu    sync.Mutex
	lines []string
	next  int
}

func (r *logRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := string(p)
	if len(r.lines) < keptLogLines {
		r.lines = append(r.lines, line)
	} else {
		r.lines[r.next] = line
		r.next = (r.next + 1) % keptLogLines
	}
	return len(p), nil
}

func (r *logRing) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...), "")
}
