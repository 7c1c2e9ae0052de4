package projector

import "context"

// discarded finds the events a stream discarded before the projector read
// them: sequences missing between the resume point and the first message
// read, or between two messages read (a consumer started before a stream's
// first message, or passed by its retention, is moved on without an error).
// Only USAGE may lose any, to a retention (natsauth's -usage-max-age, or a
// size limit) that an outage of reporting or ClickHouse, or a projector far
// behind, outlasted.
type discarded struct {
	// through is the last sequence already counted.
	through uint64
}

// gap returns the first sequence and the count of the events missing
// between after and next (the next sequence read), and remembers them so
// that they are counted once in this process, however often the projector
// restarts before moving on.
func (a *discarded) gap(after, next uint64) (from, n uint64) {
	from = max(after, a.through) + 1
	if next <= from {
		return from, 0
	}
	a.through = next - 1
	return from, next - from
}

// noteDiscarded logs and counts the events missing between after and next:
// reports lack them, and only an operator can say whether that was meant (a
// rebuild after a retention) or an outage too long.
func (p *Projector) noteDiscarded(ctx context.Context, after, next uint64) {
	from, n := p.discarded.gap(after, next)
	if n == 0 {
		return
	}
	p.metrics.discarded.Add(ctx, int64(n), p.streamAttr)
	p.log.ErrorContext(ctx, "events discarded from the stream before they were projected (its retention); reports lack them",
		"events", n, "from_seq", from, "through_seq", next-1)
}
