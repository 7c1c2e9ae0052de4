package pool

import (
	"fmt"
	"time"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// subscription grants user u(n%5) a named subscription for one product,
// ending n%48 hours from now (0: until revoked), or revokes it when n is
// divisible by 3. A launch it covers must charge nothing.
func (z *fuzzer) subscription(n int64) {
	z.t.Helper()
	user, product := fmt.Sprintf("u%d", uint64(n)%5), []string{"ONE", "BIG", "MID"}[uint64(n)%3]
	if n%3 == 0 {
		z.decide(func(p *Pool) ([]*v1.Event, error) {
			return single(p.DecideRevoke(z.id(), user, nil, "fuzz", z.now, nil))
		})
		return
	}
	var ends time.Time
	if h := uint64(n) % 48; h > 0 {
		ends = z.now.Add(time.Duration(h) * time.Hour)
	}
	z.decide(func(p *Pool) ([]*v1.Event, error) {
		return single(p.DecideGrant(Grant{EventID: z.id(), User: user, Products: []string{product}, EndsAt: ends, At: z.now}))
	})
	debited := z.p.BalanceAt(z.now).Debited
	z.decide(func(p *Pool) ([]*v1.Event, error) {
		o, ev := p.DecideLaunch(Launch{EventID: z.id(), User: user, Product: product, At: z.now}, z.cat)
		if o.BySubscription != (ev.GetLaunchSubscribed() != nil) || (o.BySubscription && o.Tokens != 0) {
			z.t.Fatalf("launch by subscription answered %+v with %v", o, ev)
		}
		return events(ev), nil
	})
	if z.p.suspended {
		return
	}
	if got := z.p.BalanceAt(z.now).Debited; got != debited {
		z.t.Fatalf("a subscribed launch debited %d tokens", got-debited)
	}
}
