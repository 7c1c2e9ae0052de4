package balance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/tokenmeter/tokenmeter/libs/outage"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
)

var moves = telemetry.Must(otel.Meter("github.com/tokenmeter/tokenmeter/services/ledger/internal/balance").Int64Counter(
	"tokenmeter.ledger.leader.moves",
	metric.WithDescription("Partition stream leaders asked to step down onto a less loaded NATS node")))

// Groups are the streams whose partitions are balanced, each on its own.
var Groups = []string{subject.LedgerStream, subject.UsageStream}

// stepTimeout bounds one look at the streams and its stepdown: a stream
// without a leader answers nothing.
const stepTimeout = 5 * time.Second

// Balancer moves one partition stream leader at a time, while Leads says
// this replica is the one that acts (the ring's first live replica).
type Balancer struct {
	js      jetstream.JetStream
	leads   func() bool
	log     *slog.Logger
	failing *outage.Tracker
}

// New returns a balancer over js's partition streams.
func New(js jetstream.JetStream, leads func() bool, log *slog.Logger) *Balancer {
	moves.Add(context.Background(), 0) // a rare event exists at 0 from the start
	return &Balancer{js: js, leads: leads, log: log,
		failing: outage.New(log, "stream leader balancing failing", "stream leader balancing restored")}
}

// Run makes at most one move every interval until ctx ends.
func (b *Balancer) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, _, err := b.Step(ctx); err != nil && ctx.Err() == nil {
				b.failing.Fail(ctx, err)
			} else if err == nil {
				b.failing.OK(ctx)
			}
		}
	}
}

// Step reads the partition streams' leaders and, when this replica leads
// and they are uneven, asks one stream's leader to step down.
func (b *Balancer) Step(ctx context.Context) (Move, bool, error) {
	if !b.leads() {
		return Move{}, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	streams, err := View(ctx, b.js)
	if err != nil {
		return Move{}, false, err
	}
	m, ok := Decide(streams)
	if !ok {
		return Move{}, false, nil
	}
	if err := StepDown(ctx, b.js, m.Stream, m.To); err != nil {
		return Move{}, false, err
	}
	moves.Add(ctx, 1)
	b.log.InfoContext(ctx, "moved a stream leader", "stream", m.Stream, "from", m.From, "to", m.To)
	return m, true, nil
}

// View reads the leadership of every partition stream there is.
func View(ctx context.Context, js jetstream.JetStream) ([]Stream, error) {
	names := js.StreamNames(ctx)
	var out []Stream
	for name := range names.Name() {
		group, ok := groupOf(name)
		if !ok {
			continue
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		out = append(out, streamOf(group, s.CachedInfo()))
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return out, nil
}

// groupOf is the group of a partition stream (the legacy LEDGER and USAGE
// are no partition: they are not moved).
func groupOf(name string) (string, bool) {
	for _, g := range Groups {
		if p, ok := subject.PartitionOfStream(name, g); ok && p >= 0 {
			return g, true
		}
	}
	return "", false
}

func streamOf(group string, info *jetstream.StreamInfo) Stream {
	s := Stream{Name: info.Config.Name, Group: group}
	if c := info.Cluster; c != nil {
		s.Leader = c.Leader
		for _, r := range c.Replicas {
			if r.Current && !r.Offline {
				s.Current = append(s.Current, r.Name)
			}
		}
	}
	return s
}

// StepDown asks stream's leader to hand over to the node named preferred
// (nats.go has no call for it: the JetStream API request).
func StepDown(ctx context.Context, js jetstream.JetStream, stream, preferred string) error {
	req, err := json.Marshal(map[string]any{"placement": map[string]string{"preferred": preferred}})
	if err != nil {
		return err
	}
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, req)
	if err != nil {
		return fmt.Errorf("step down %s: %w", stream, err)
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("step down %s: %w", stream, err)
	}
	if resp.Error != nil || !resp.Success {
		desc := "not done"
		if resp.Error != nil {
			desc = resp.Error.Description
		}
		return fmt.Errorf("step down %s to %s: %w", stream, preferred, errors.New(desc))
	}
	return nil
}
