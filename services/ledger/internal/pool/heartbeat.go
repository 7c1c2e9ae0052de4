package pool

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// DefaultIdleTimeout is how long a session may go without activity and still
// be renewed at its window's end as if it never stopped.
const DefaultIdleTimeout = 15 * time.Minute

// Heartbeat is a running session's report, stamped with the server's time.
type Heartbeat struct {
	EventID, User, Product, Device, WindowID string
	// Active is whether the user did anything since the last heartbeat.
	Active bool
	At     time.Time
	// IdleTimeout: an active session seen again within it after its window
	// ended is renewed from the 24-hour mark; later, from now.
	IdleTimeout time.Duration
	Actor       *v1.Actor
}

// DecideHeartbeat keeps a session running. Inside its window nothing is
// charged. After the window ended, an active session is renewed — charged
// the rate again for a new window — and an idle one is not renewed until it is
// active again. When the pool cannot pay the renewal the answer is to stop.
func (p *Pool) DecideHeartbeat(h Heartbeat, cat *Catalog) (Outcome, *v1.Event) {
	if a, ok := p.applied[h.EventID]; ok {
		return a.outcome(), nil
	}
	if o, ok := p.subscribedHeartbeat(h, cat); ok {
		return o, nil
	}
	if w, open := p.OpenWindow(h.User, h.Product, h.At); open {
		// A pool suspended, or a user unassigned, since the launch: stop now.
		_, known := cat.At(h.Product, h.At)
		if reason := p.refusal(h.User, h.Product, known); reason != v1.DenyReason_DENY_REASON_UNSPECIFIED {
			return Outcome{Decision: v1.Decision_DECISION_DENIED, DenyReason: reason,
				BalanceAfter: p.BalanceAt(h.At).Available, At: h.At}, nil
		}
		return Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, WindowID: w.ID, WindowEnd: w.End,
			BalanceAfter: p.BalanceAt(h.At).Available, KeepRunning: true, At: h.At}, nil
	}
	if !h.Active {
		// Idle past the window's end: not renewed, not stopped either.
		return Outcome{Decision: v1.Decision_DECISION_AUTHORIZED, BalanceAfter: p.BalanceAt(h.At).Available,
			KeepRunning: true, At: h.At}, nil
	}
	if h.IdleTimeout <= 0 {
		h.IdleTimeout = DefaultIdleTimeout
	}
	start := h.At
	if prev := p.windows[windowKey{h.User, h.Product}]; prev != nil && prev.ID != "" && h.At.Sub(prev.End) <= h.IdleTimeout {
		start = prev.End // in use across the 24-hour mark: charged at the mark
	}
	l := Launch{EventID: h.EventID, User: h.User, Product: h.Product, Device: h.Device, At: start, Actor: h.Actor}
	o, ev := p.decideCharge(l, cat, h.At, true)
	o.KeepRunning = o.Decision == v1.Decision_DECISION_AUTHORIZED
	return o, ev
}

// windowCharged builds the charge of a new window opened at start; the packs
// are split at now (the decision time).
func (p *Pool) windowCharged(l Launch, prod Product, parts []*v1.PackSplit, now time.Time, renewal bool) *v1.Event {
	m := new(chargedMsgs)
	p.fillEnvelope(&m.ev, &m.serverTime, l.EventID, now, l.Actor)
	c := &m.charged
	c.UserId, c.ProductCode, c.ProductVersion, c.DeviceId = l.User, l.Product, l.Version, l.Device
	c.WindowId, c.WindowStart, c.WindowEnd = l.EventID, setTime(&m.start, l.At), setTime(&m.end, l.At.Add(WindowLength))
	c.Tokens, c.Split, c.Pool = prod.DailyRate, parts, p.fillFigures(&m.figures, now, -prod.DailyRate, 0)
	c.Attributes, c.ProductGroup, c.Renewal = l.Attributes, prod.Group, renewal
	m.payload.WindowCharged = c
	m.ev.Payload = &m.payload
	return &m.ev
}

// chargedMsgs are a WindowCharged event's messages, one block (see
// coveredMsgs): seven allocations otherwise.
type chargedMsgs struct {
	ev                     v1.Event
	payload                v1.Event_WindowCharged
	charged                v1.WindowCharged
	serverTime, start, end timestamppb.Timestamp
	figures                v1.PoolFigures
}

// setTime makes ts the timestamp of t (as timestamppb.New) and returns it.
func setTime(ts *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}
