// Package outage turns a dependency's stream of failures and successes
// into one log line when it is lost and one when it is back, however often
// it is retried in between.
package outage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// Tracker follows one dependency (the ledger, ClickHouse, a replica).
type Tracker struct {
	log  *slog.Logger
	lost string
	back string
	now  func() time.Time

	mu       sync.Mutex
	down     bool
	since    time.Time
	failures int
}

// New logs lost (at Error) when the dependency is first found gone and back
// (at Info) when it answers again, e.g. "ledger unreachable" and "ledger
// reachable again".
func New(log *slog.Logger, lost, back string) *Tracker {
	return &Tracker{log: log, lost: lost, back: back, now: time.Now}
}

// maxErr bounds the error text a line carries.
const maxErr = 300

// Fail reports a failure. Only the first since the dependency was last up
// is logged; the others are counted.
func (t *Tracker) Fail(ctx context.Context, err error, attrs ...any) {
	t.mu.Lock()
	first := !t.down
	if first {
		t.down, t.since, t.failures = true, t.now(), 0
	}
	t.failures++
	t.mu.Unlock()
	if first {
		msg := "unknown"
		if err != nil {
			msg = quote.Cut(err.Error(), maxErr)
		}
		t.log.ErrorContext(ctx, t.lost, append(attrs, "err", msg)...)
	}
}

// OK reports a success: logged when it ends an outage, with how long the
// outage lasted and how many failures it saw.
func (t *Tracker) OK(ctx context.Context, attrs ...any) {
	t.mu.Lock()
	if !t.down {
		t.mu.Unlock()
		return
	}
	t.down = false
	took, failures := t.now().Sub(t.since), t.failures
	t.mu.Unlock()
	t.log.InfoContext(ctx, t.back, append(attrs, "down_for", took.Round(time.Millisecond).String(), "failures", failures)...)
}

// Down reports whether the dependency is lost.
func (t *Tracker) Down() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.down
}
