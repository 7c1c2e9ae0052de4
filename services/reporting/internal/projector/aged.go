package projector

import "context"

// agedOut finds the events a stream discarded before the projector read
// them: those between its resume point and the stream's first message.
// Only USAGE may have them, under a retention (natsauth's -usage-max-age)
// shorter than an outage of reporting or ClickHouse.
type agedOut struct {
	// through is the last sequence already counted.
	through uint64
}

// gap returns the discarded events' first sequence and count, resuming
// after start on a stream whose first message is first (0 when it never
// held one), and remembers them, so they are counted once.
func (a *agedOut) gap(start, first uint64) (from, n uint64) {
	from = max(start, a.through) + 1
	if first <= from {
		return from, 0
	}
	a.through = first - 1
	return from, first - from
}

// noteAgedOut logs and counts the events the stream discarded before this
// projector read them: reports lack them, and only an operator can say
// whether that was meant (a rebuild after a retention) or an outage too long.
func (p *Projector) noteAgedOut(ctx context.Context, start, first uint64) {
	from, n := p.aged.gap(start, first)
	if n == 0 {
		return
	}
	p.metrics.agedOut.Add(ctx, int64(n), p.streamAttr)
	p.log.ErrorContext(ctx, "events aged out of the stream before they were projected; reports lack them",
		"events", n, "from_seq", from, "through_seq", first-1)
}
