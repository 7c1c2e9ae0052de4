package rules_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/rules"
)

// feed drives a Rules with generated events of team "design" of org "acme"
// on a fake clock: each event is stored at the clock's time, one sequence after
// the last.
type feed struct {
	t     *testing.T
	r     *rules.Rules
	now   time.Time
	seq   uint64
	avail int64
	live  int64
}

func newFeed(t *testing.T, mutate func(*rules.Config)) *feed {
	t.Helper()
	cfg := rules.Defaults()
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := rules.New(cfg)
	require.NoError(t, err)
	return &feed{t: t, r: r, now: t0}
}

func (f *feed) advance(d time.Duration) *feed { f.now = f.now.Add(d); return f }

func (f *feed) apply(payload isPayload) []*v1.Alert {
	f.seq++
	ev := &v1.Event{EventId: fmt.Sprintf("ev-%d", f.seq), OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(f.now)}
	payload.set(ev)
	return f.r.Apply(f.seq, ev)
}

func (f *feed) tick() []*v1.Alert { return f.r.Tick(f.seq, f.now) }

func (f *feed) pool() *v1.PoolFigures { return &v1.PoolFigures{Available: f.avail, Live: f.live} }

// pack adds a pack of tokens bought now, expiring after d.
func (f *feed) pack(id string, tokens int64, d time.Duration) []*v1.Alert {
	f.avail += tokens
	f.live += tokens
	return f.apply(payload{func(ev *v1.Event) {
		ev.Payload = &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: id, Tokens: tokens,
			PurchasedAt: timestamppb.New(f.now), ExpiresAt: timestamppb.New(f.now.Add(d)), Pool: f.pool()}}
	}})
}

// charge charges user for product from pack p1.
func (f *feed) charge(user, product string, tokens int64) []*v1.Alert {
	f.avail -= tokens
	return f.apply(payload{func(ev *v1.Event) {
		ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{UserId: user, ProductCode: product, DeviceId: user + "-pc",
			Tokens: tokens, Split: []*v1.PackSplit{{PackId: "p1", Tokens: tokens}}, Pool: f.pool()}}
	}})
}

func (f *feed) event(set func(*v1.Event)) []*v1.Alert { return f.apply(payload{set}) }

type isPayload interface{ set(*v1.Event) }

type payload struct{ fn func(*v1.Event) }

func (p payload) set(ev *v1.Event) { p.fn(ev) }

func kinds(alerts []*v1.Alert) []string {
	out := []string{}
	for _, a := range alerts {
		out = append(out, a.GetKind())
	}
	return out
}

// only keeps the alerts of kind.
func only(kind string, alerts []*v1.Alert) []*v1.Alert {
	var out []*v1.Alert
	for _, a := range alerts {
		if a.GetKind() == kind {
			out = append(out, a)
		}
	}
	return out
}

func timestampOf(at time.Time) *timestamppb.Timestamp { return timestamppb.New(at) }
