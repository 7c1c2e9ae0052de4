package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/libs/testkit/load"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// durabilityPools is how many pools BenchmarkDurability's decisions spread
// over: a caller's decision rarely waits for another's on its pool.
const durabilityPools = 16

// durabilitySettings are the three ways an acknowledged charge is stored
// (docs/CAPACITY.md, "Durability"): one server writing each message to the
// OS and fsyncing every 2 minutes (JetStream's default), one server fsyncing
// every write before its ack, a stream replicated on three servers, and
// that with every server syncing every write (its Raft log included).
var durabilitySettings = []struct {
	name  string
	start func(b *testing.B) jetstream.JetStream
}{
	{"one-node-default", func(b *testing.B) jetstream.JetStream {
		url, _ := testkit.NATS(b)
		return benchJSAt(b, url, 1)
	}},
	{"one-node-sync-always", func(b *testing.B) jetstream.JetStream {
		url, _ := testkit.NATSWith(b, testkit.NATSConfig{SyncAlways: true})
		return benchJSAt(b, url, 1)
	}},
	{"three-replicas", func(b *testing.B) jetstream.JetStream {
		return benchJSAt(b, testkit.NATSCluster(b, 3), 3)
	}},
	{"three-replicas-sync-always", func(b *testing.B) jetstream.JetStream {
		return benchJSAt(b, testkit.NATSClusterWith(b, 3, testkit.NATSConfig{SyncAlways: true}), 3)
	}},
}

// BenchmarkDurability: the ledger's synchronous append (eventlog.Append of
// a charge with the expected subject sequence, one subject per caller) and
// its decisions (Decide launches over 16 pools), at 1 and 16 callers, under
// each durability setting, each on its own servers started for it. Every
// line of the later settings carries "rate-ratio-to-default" (its rate ÷
// the default setting's for the same workload, measured in the same run)
// and "cpu-ratio-to-default" (its CPU per operation ÷ the default's).
func BenchmarkDurability(b *testing.B) {
	defaults := map[string]*load.Best{}
	for _, s := range durabilitySettings {
		b.Run(s.name, func(b *testing.B) {
			js := s.start(b)
			report := func(b *testing.B, work string, r load.Result, cpu time.Duration) {
				r.Report(b, "op/s", 0)
				load.ReportCPU(b, cpu, 0)
				b.ReportMetric(meanMicros(r), "mean-µs")
				if s.name == durabilitySettings[0].name {
					defaults[work] = &load.Best{}
					defaults[work].Keep(r, cpu)
				} else if d := defaults[work]; d != nil && d.Rate() > 0 {
					b.ReportMetric(r.PerSec()/d.Rate(), "rate-ratio-to-default")
					b.ReportMetric(float64(cpu)/float64(d.CPUPerOp()), "cpu-ratio-to-default")
				}
			}
			for _, g := range []int{1, 16} {
				work := fmt.Sprintf("append-callers-%d", g)
				b.Run(work, func(b *testing.B) {
					op := chargeAppendOp(b, js, g)
					r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
					report(b, work, r, cpu)
				})
			}
			l := durabilityLauncher(b, js)
			for _, g := range []int{1, 16} {
				work := fmt.Sprintf("decide-callers-%d", g)
				b.Run(work, func(b *testing.B) {
					op, advance := l.op()
					r, cpu := load.Measure(func() load.Result { return load.Closed(b, g, b.N, op) })
					advance(b.N)
					report(b, work, r, cpu)
					l.reportCovered(b)
				})
			}
		})
	}
}

// durabilityLauncher is newLauncher on durabilityPools pools, seeded one
// pool at a time by a decision that adds only what the pool lacks: on a
// loaded three-node cluster an append can land after its caller gave up, and
// the decision made again then finds the pack there.
func durabilityLauncher(b *testing.B, js jetstream.JetStream) *launcher {
	b.Helper()
	s := New(js, slog.New(slog.DiscardHandler))
	users := usersPerPool(durabilityPools)
	for i := range durabilityPools {
		team := teamName(i)
		err := s.Decide(context.Background(), benchOrg, team, benchT0, func(p *pool.Pool) ([]*v1.Event, error) {
			var events []*v1.Event
			if !slices.ContainsFunc(p.Packs(), func(k *pool.Pack) bool { return k.ID == "big" }) {
				ev, err := p.DecideAddPack(pool.AddPack{EventID: "pack-" + team, PackID: "big", Tokens: pool.MaxPackTokens,
					ExpiresAt: benchT0.AddDate(50, 0, 0), At: benchT0})
				if err != nil {
					return nil, err
				}
				events = append(events, ev)
			}
			for u := range users {
				ev, err := p.DecideAssign(fmt.Sprintf("assign-%s-%d", team, u), fmt.Sprintf("u%d", u), []string{"*"}, benchT0, nil)
				if err != nil {
					return nil, err
				}
				events = append(events, ev)
			}
			return events, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return &launcher{s: s, cat: benchCatalog(), pools: durabilityPools, users: users}
}

// meanMicros is the mean latency of r's operations in µs.
func meanMicros(r load.Result) float64 {
	if len(r.Lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.Lat {
		sum += d
	}
	return float64(sum.Nanoseconds()) / 1e3 / float64(len(r.Lat))
}

// chargeAppendOp returns an operation appending charge i with eventlog.Append
// to subject i%subjects of LEDGER, guarded by the subject's last sequence as
// the ledger guards a pool's, one append at a time per subject.
func chargeAppendOp(b *testing.B, js jetstream.JetStream, subjects int) func(i int) error {
	b.Helper()
	ctx := context.Background()
	stream, err := js.Stream(ctx, eventlog.LedgerStream)
	if err != nil {
		b.Fatal(err)
	}
	type subject struct {
		mu   sync.Mutex
		name string
		last uint64
	}
	subs := make([]subject, subjects)
	for i := range subs {
		subs[i].name = rawSubject(1000 + i)
		m, err := stream.GetLastMsgForSubject(ctx, subs[i].name)
		switch {
		case err == nil:
			subs[i].last = m.Sequence
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			b.Fatal(err)
		}
	}
	id := fmt.Sprintf("charge-%d-", time.Now().UnixNano())
	return func(i int) error {
		sub := &subs[i%subjects]
		sub.mu.Lock()
		defer sub.mu.Unlock()
		last := sub.last
		a, err := eventlog.Append(ctx, js, sub.name, chargeEvent(id, i), &last)
		if err != nil {
			return err
		}
		sub.last = a.Sequence
		return nil
	}
}

// chargeEvent is a charge as the ledger records one: a window charged to a
// user, split over one pack, with the pool's figures after it.
func chargeEvent(prefix string, i int) *v1.Event {
	at := benchT0.Add(time.Duration(i) * time.Millisecond)
	return &v1.Event{
		EventId: fmt.Sprintf("%s%d", prefix, i), OrgId: benchOrg, TeamId: teamName(i % durabilityPools),
		ServerTime: timestamppb.New(at),
		Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: fmt.Sprintf("u%d", i%1000), ProductCode: "P1", WindowId: fmt.Sprintf("w-%s%d", prefix, i),
			WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)), Tokens: 10,
			Split: []*v1.PackSplit{{PackId: "big", Tokens: 10}},
			Pool:  &v1.PoolFigures{Available: 1_000_000 - int64(i)},
		}},
	}
}
