package pool

import (
	"fmt"
	"slices"
	"time"

	"pgregory.net/rapid"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// The model's named subscriptions: plain (user, product) → end, read by the
// model's launch, heartbeat and quote before anything else.

// subscribed is the model's rule: a pool not suspended, a known product, a
// subscription not yet ended.
func (m *mPool) subscribed(user, product string, t time.Time) (time.Time, bool) {
	if m.suspended {
		return time.Time{}, false
	}
	if _, _, ok := mRateAt(product, t); !ok {
		return time.Time{}, false
	}
	end, ok := m.subs[[2]string{user, product}]
	if !ok || (!end.IsZero() && !t.Before(end)) {
		return time.Time{}, false
	}
	return end, true
}

func (m *mPool) subscribedLaunch(id, user, product string, now time.Time) (mDecision, bool) {
	end, ok := m.subscribed(user, product, now)
	if !ok {
		return mDecision{}, false
	}
	a := mAnswer{decision: v1.Decision_DECISION_AUTHORIZED, windowEnd: end, balance: m.balanceAt(now), keep: true,
		fingerprint: Fingerprint(user, product), bySub: true}
	m.answers[id] = a
	return mDecision{ans: a, kind: "subscribed"}, true
}

func (m *mPool) holds(user string) bool {
	for k := range m.subs {
		if k[0] == user {
			return true
		}
	}
	return false
}

func (w *world) grant(t *rapid.T) {
	_, s := w.pick(t)
	user := rapid.SampledFrom(mUsers).Draw(t, "user")
	products := rapid.SampledFrom([][]string{{"REVIT"}, {"ACAD", "FUSION"}, {"MAX"}, {"MAYA"}, {}, {"*"}}).Draw(t, "products")
	var ends time.Time
	if h := rapid.IntRange(0, 72).Draw(t, "subscriptionHours"); h > 0 {
		ends = w.now.Add(time.Duration(h) * time.Hour)
	}
	id, m := w.nextID("sub"), s.model
	dueM := m.dueExpiries(w.now)
	var wantErr error
	switch {
	case m.suspended:
		wantErr = ErrSuspended
	case len(products) == 0 || slices.Contains(products, "*"):
		wantErr = ErrInvalid
	default:
		for _, c := range products {
			m.subs[[2]string{user, c}] = ends
		}
		m.answers[id] = authorized
	}
	err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
		ev, err := p.DecideGrant(Grant{EventID: id, User: user, Products: products, EndsAt: ends, At: w.now})
		return []*v1.Event{ev}, err
	})
	sameErr(t, "grant "+id, err, wantErr)
}

func (w *world) revoke(t *rapid.T) {
	_, s := w.pick(t)
	user := rapid.SampledFrom(mUsers).Draw(t, "user")
	products := rapid.SampledFrom([][]string{{}, {"REVIT"}, {"ACAD"}}).Draw(t, "products")
	id, m := w.nextID("rev"), s.model
	dueM := m.dueExpiries(w.now)
	wantErr := error(nil)
	if !m.holds(user) {
		wantErr = ErrNotFound
	}
	for _, c := range products {
		if _, ok := m.subs[[2]string{user, c}]; !ok {
			wantErr = ErrNotFound
		}
	}
	if wantErr == nil {
		for k := range m.subs {
			if k[0] == user && (len(products) == 0 || slices.Contains(products, k[1])) {
				delete(m.subs, k)
			}
		}
		m.answers[id] = authorized
	}
	err := w.step(t, s, w.now, dueM, func(p *Pool) ([]*v1.Event, error) {
		ev, err := p.DecideRevoke(id, user, products, "", w.now, nil)
		return []*v1.Event{ev}, err
	})
	sameErr(t, "revoke "+id, err, wantErr)
}

// checkSubscriptions: the core holds the model's subscriptions, and lists
// as in force those the model's rule says are.
func (w *world) checkSubscriptions(t *rapid.T, s *side) {
	var got, want []string
	for _, sub := range s.core.allSubscriptions() {
		got = append(got, fmt.Sprintf("%s/%s until %s", sub.User, sub.Product, sub.EndsAt))
	}
	for k, end := range s.model.subs {
		want = append(want, fmt.Sprintf("%s/%s until %s", k[0], k[1], end))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: subscriptions: core %v, model %v", s.core.Team, got, want)
	}
	for _, sub := range s.core.Subscriptions(w.now) {
		if !sub.ActiveAt(w.now) {
			t.Fatalf("%s: %+v listed in force at %s", s.core.Team, sub, w.now)
		}
	}
}
