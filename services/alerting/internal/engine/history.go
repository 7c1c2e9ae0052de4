package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// history is what the ALERTS stream already holds of one source: how far
// it got (the source sequence of the last alert stored and the ids of every
// alert raised at that sequence: one event can raise several, and a crash can
// fall between them), and when clock ticks raised alerts, so that a replay
// ticks at the same places and rebuilds the same rule state.
type history struct {
	seq   uint64
	ids   map[string]bool
	ticks map[uint64][]time.Time
}

// published reports whether a was stored by an earlier run. The engine
// publishes in source order and waits for each acknowledgement, so every
// alert of an earlier source message was stored.
func (h history) published(a *v1.Alert) bool {
	s := a.GetSourceSequence()
	return s < h.seq || (s == h.seq && h.ids[a.GetAlertId()])
}

// ticksAt are the times ticks raised alerts right after the event at seq, in
// order, leaving out eventTime (alerts the event raised itself).
func (h history) ticksAt(seq uint64, eventTime time.Time) []time.Time {
	var out []time.Time
	for _, t := range h.ticks[seq] {
		if !t.Equal(eventTime) {
			out = append(out, t)
		}
	}
	return out
}

// sourceOf is the stream an alert was raised from (alerts stored before
// source_stream existed all came from the ledger).
func sourceOf(a *v1.Alert) string {
	if s := a.GetSourceStream(); s != "" {
		return s
	}
	return eventlog.LedgerStream
}

// readHistory reads the whole ALERTS stream for source's alerts. Alerts are
// few (one per crossing), so this stays cheap next to replaying the source.
func readHistory(ctx context.Context, js jetstream.JetStream, source string) (history, error) {
	h := history{ids: map[string]bool{}, ticks: map[uint64][]time.Time{}}
	_, err := eventlog.ReadSubject(ctx, js, eventlog.AlertsStream, "alerts.>", 0, func(s eventlog.Stored) error {
		a := s.Event.GetAlert()
		if a == nil || sourceOf(a) != source {
			return nil
		}
		seq := a.GetSourceSequence()
		if seq > h.seq {
			h.seq = seq
			clear(h.ids)
		}
		if seq == h.seq {
			h.ids[a.GetAlertId()] = true
		}
		at := a.GetRaisedAt().AsTime()
		if !slices.ContainsFunc(h.ticks[seq], at.Equal) {
			h.ticks[seq] = append(h.ticks[seq], at)
		}
		return nil
	})
	if err != nil {
		return h, fmt.Errorf("read alert history: %w", err)
	}
	for seq := range h.ticks {
		slices.SortFunc(h.ticks[seq], time.Time.Compare)
	}
	return h, nil
}
