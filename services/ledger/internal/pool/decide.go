package pool

import (
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Command decides one request on a pool as it stands and returns the events
// that record it (none: the answer is already known). It must not change
// the pool: Decide folds what it returns.
type Command func(p *Pool) ([]*v1.Event, error)

// Decide makes one decision at now in the ledger's one order: the packs'
// expiries due by now, then cmd's events, then the budget crossings the
// result leaves due. cmd runs before the expiries are folded (a balance at
// now already leaves expired packs out). Decide folds every event into p
// and returns them, to be appended in that order.
//
// An error from cmd leaves p unchanged. An error folding (ErrRefused, a bug
// in a decision) leaves p part-changed: it must be loaded again from the log,
// as must a pool whose events the log did not take.
func (p *Pool) Decide(now time.Time, cmd Command) ([]*v1.Event, error) {
	events := p.DueExpiries(now)
	more, err := cmd(p)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		events = more // the usual case: no expiry due, nothing to copy
	} else {
		events = append(events, more...)
	}
	if err := p.fold(events); err != nil {
		return nil, err
	}
	// A crossing is looked for only in the period holding now.
	crossings := p.DueBudgetCrossings(now)
	if err := p.fold(crossings); err != nil {
		return nil, err
	}
	return append(events, crossings...), nil
}

func (p *Pool) fold(events []*v1.Event) error {
	for _, ev := range events {
		if err := p.Apply(ev); err != nil {
			return err
		}
	}
	return nil
}
