package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (h *harness) heartbeat(user, product string, active bool, at time.Time) Outcome {
	h.t.Helper()
	o, ev := h.p.DecideHeartbeat(Heartbeat{EventID: h.id(), User: user, Product: product, Active: active, At: at}, h.cat)
	if ev != nil {
		h.apply(ev)
	}
	return o
}

func TestRenewal(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name      string
		active    bool
		after     time.Duration // heartbeat time after the window's end
		charged   int64
		keep      bool
		startAtTo time.Duration // new window start relative to the old end
	}{
		{"active across the 24-hour mark is charged at the mark", true, 5 * time.Minute, 10, true, 0},
		{"active again after an idle gap is charged from now", true, 2 * time.Hour, 10, true, 2 * time.Hour},
		{"idle at the mark is not renewed", false, 5 * time.Minute, 0, true, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.pack("p", 100, t0, t0.AddDate(1, 0, 0))
			first := h.launch("ann", "REVIT", t0)
			inside := h.heartbeat("ann", "REVIT", true, t0.Add(23*time.Hour))
			require.True(t, inside.KeepRunning)
			require.Zero(t, inside.Tokens, "inside the window a heartbeat costs nothing")
			require.Equal(t, first.WindowID, inside.WindowID)

			o := h.heartbeat("ann", "REVIT", tc.active, t0.Add(day+tc.after))
			require.Equal(t, tc.keep, o.KeepRunning)
			require.Equal(t, tc.charged, o.Tokens)
			if tc.startAtTo >= 0 {
				w, open := h.p.OpenWindow("ann", "REVIT", t0.Add(day+tc.after))
				require.True(t, open)
				require.Equal(t, t0.Add(day+tc.startAtTo), w.Start)
				require.Equal(t, w.Start.Add(day), w.End)
			} else {
				_, open := h.p.OpenWindow("ann", "REVIT", t0.Add(day+tc.after))
				require.False(t, open)
			}
		})
	}
}

func TestRenewalRefusedStopsTheSession(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 15, t0, t0.AddDate(1, 0, 0))
	h.launch("ann", "REVIT", t0)
	o := h.heartbeat("ann", "REVIT", true, t0.Add(24*time.Hour+time.Minute))
	require.False(t, o.KeepRunning, "the pool cannot pay the renewal: stop")
	require.Equal(t, v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, o.DenyReason)
	require.EqualValues(t, 5, h.p.Available(), "no overdraft")
}

func TestEventIDReuse(t *testing.T) {
	h := newHarness(t)
	h.pack("p", 100, t0, t0.AddDate(1, 0, 0))
	o, ev := h.p.DecideLaunch(Launch{EventID: "same-id", User: "ann", Product: "REVIT", At: t0}, h.cat)
	h.apply(ev)
	require.NoError(t, h.p.CheckEventID("same-id", "ann", "REVIT"), "a retry")
	require.ErrorIs(t, h.p.CheckEventID("same-id", "ann", "ACAD"), ErrEventIDReused)
	require.ErrorIs(t, h.p.CheckEventID("same-id", "annR", "EVIT"), ErrEventIDReused)
	require.ErrorIs(t, h.p.CheckEventID("same-id", "an", "REVIT"), ErrEventIDReused)
	require.NoError(t, h.p.CheckEventID("new-id", "ann", "ACAD"))
	require.EqualValues(t, 10, o.Tokens)
}
