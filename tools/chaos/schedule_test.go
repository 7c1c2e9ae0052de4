package chaos

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
)

// step kills one component at an offset from the load's start and starts it
// again after down; a step without a component is the overload burst.
type step struct {
	at   time.Duration
	pick func(*stack) *proc
	down time.Duration
}

// cycle is one round of faults, each component's kills apart from the
// others' that depend on it: the second replica stays down long enough to
// be declared lost (three announce intervals); reporting is killed after a
// checkpoint interval of uptime; the ledger and NATS outages do not overlap.
func cycle(natsDown, replicaDown time.Duration) []step {
	return []step{
		{at: 1 * time.Second, pick: func(s *stack) *proc { return s.ledgerB }, down: replicaDown},
		{at: 3 * time.Second, pick: func(s *stack) *proc { return s.alerting }},
		{at: 5 * time.Second, pick: func(s *stack) *proc { return s.ingestion }},
		{at: replicaDown + 3*time.Second, pick: func(s *stack) *proc { return s.ledgerA }},
		{at: replicaDown + 6*time.Second, pick: func(s *stack) *proc { return s.reporting }},
		{at: replicaDown + 9*time.Second},
		{at: replicaDown + 12*time.Second, pick: func(s *stack) *proc { return s.nats }, down: natsDown},
	}
}

// plan is the short schedule (one cycle, about 25 s of load) or, for a
// duration, as many longer cycles as fit in it.
func plan(duration time.Duration) (steps []step, load time.Duration) {
	short := cycle(3*time.Second, 7*time.Second)
	if duration == 0 {
		return short, 25 * time.Second
	}
	const length = 45 * time.Second
	for start := time.Duration(0); start+length <= max(duration, length); start += length {
		for _, s := range cycle(8*time.Second, 10*time.Second) {
			s.at += start
			steps = append(steps, s)
		}
	}
	return steps, max(duration, length)
}

// seqSamples are LEDGER's last sequence over time, read by the reader
// identity while NATS answers.
type seqSamples struct {
	mu      sync.Mutex
	at      []time.Time
	seq     []uint64
	stopped chan struct{}
}

func (s *stack) sampleLedger(ctx context.Context) *seqSamples {
	nc := s.connect("reader")
	js := s.jetStream(nc)
	out := &seqSamples{stopped: make(chan struct{})}
	go func() {
		defer close(out.stopped)
		defer nc.Close()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			out.sample(ctx, js)
		}
	}()
	return out
}

func (s *seqSamples) sample(ctx context.Context, js jetstream.JetStream) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.at, s.seq = append(s.at, time.Now()), append(s.seq, st.CachedInfo().State.LastSeq)
	s.mu.Unlock()
}

// before is the last sequence sampled at or before at (0: none).
func (s *seqSamples) before(at time.Time) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var seq uint64
	for i, t := range s.at {
		if t.After(at) {
			break
		}
		seq = s.seq[i]
	}
	return seq
}

func (s *stack) jetStream(nc *nats.Conn) jetstream.JetStream {
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatalf("jetstream: %v", err)
	}
	return js
}
