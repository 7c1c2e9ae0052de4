package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// List limits.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	listTimeout      = 10 * time.Second
)

// ListAlerts returns the caller's latest alerts, newest first: at most limit
// (default 100), of the given teams if any, raised at or after since if set,
// with their acknowledgements. unacknowledged_only looks at the latest 1,000.
func (s *Server) ListAlerts(ctx context.Context, req *v1.ListAlertsRequest) (*v1.ListAlertsResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := checkIDs("team_ids", "team id", req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	limit := int(req.GetLimit())
	switch {
	case limit < 0 || limit > maxListLimit:
		return nil, invalidField("limit", fmt.Errorf("must be 0 (default %d) to %d, got %d", defaultListLimit, maxListLimit, limit))
	case limit == 0:
		limit = defaultListLimit
	}
	var since time.Time
	if req.GetSince() != nil {
		if err := req.GetSince().CheckValid(); err != nil {
			return nil, invalidField("since", err)
		}
		since = req.GetSince().AsTime()
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	read := limit
	if req.GetUnacknowledgedOnly() {
		read = maxListLimit // acknowledged ones are dropped after reading
	}
	alerts, err := s.latest(ctx, filterSubjects(org, teams, nil), since, read)
	if err != nil {
		return nil, unavailable(ctx, "list alerts", err)
	}
	if err := s.withAcks(ctx, org, alerts...); err != nil {
		return nil, unavailable(ctx, "list alerts", err)
	}
	out := alerts[:0]
	for _, a := range alerts {
		if a.GetOrgId() != org { // the subject filter already excludes others
			continue
		}
		if req.GetUnacknowledgedOnly() && a.GetAcknowledged() {
			continue
		}
		out = append(out, a)
	}
	return &v1.ListAlertsResponse{Alerts: out[:min(len(out), limit)]}, nil
}

// latest reads the alerts on filters up to the newest one there is now and
// keeps the last limit raised at or after since, newest first.
//
// It reads every matching alert from since (or the start): JetStream has no
// "the last N messages of a filter". Alerts are few (one per crossing); a
// per-organisation index can replace this when they are not.
func (s *Server) latest(ctx context.Context, filters []string, since time.Time, limit int) ([]*v1.Alert, error) {
	stream, err := s.js.Stream(ctx, eventlog.AlertsStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", eventlog.AlertsStream, err)
	}
	var end uint64
	var endTime time.Time
	for _, f := range filters {
		msg, err := stream.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("last alert of %s: %w", f, err)
		}
		if msg.Sequence > end {
			end, endTime = msg.Sequence, msg.Time
		}
	}
	// A message is stored after the event that raised it, so its stream time
	// bounds raised_at from above: starting at since by stream time skips no
	// alert raised at or after since.
	if end == 0 || (!since.IsZero() && endTime.Before(since)) {
		return nil, nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverAllPolicy}
	if !since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	defer iter.Stop()
	ring := make([]*v1.Alert, 0, limit)
	next := 0 // where the next alert goes once ring is full
	for seq := uint64(0); seq < end; {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("read alerts after %d: %w", seq, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return nil, fmt.Errorf("read alerts: metadata: %w", err)
		}
		seq = meta.Sequence.Stream
		a, err := alertOf(msg.Data(), seq)
		if err != nil {
			s.log.ErrorContext(ctx, "skipping unreadable alert", "err", err)
			continue
		}
		if !since.IsZero() && a.GetRaisedAt().AsTime().Before(since) {
			continue
		}
		if len(ring) < limit {
			ring = append(ring, a)
			continue
		}
		ring[next] = a
		next = (next + 1) % limit
	}
	out := make([]*v1.Alert, 0, len(ring))
	out = append(out, ring[next:]...)
	out = append(out, ring[:next]...)
	slices.Reverse(out)
	return out, nil
}
