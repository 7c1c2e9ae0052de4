package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// listTimeout bounds one page of ListAlerts.
const listTimeout = 10 * time.Second

// unackWindow is how many alerts a page of unacknowledged ones reads at a
// time: acknowledged ones are dropped after reading.
const unackWindow = 1000

// ListAlerts returns the caller's alerts, newest first, a page of limit
// (default 100) at a time: of the given teams if any, raised at or after
// since if set, with their acknowledgements. A page token is the stream
// sequence of the last alert given, and the next page goes on below it.
func (s *Server) ListAlerts(ctx context.Context, req *v1.ListAlertsRequest) (*v1.ListAlertsResponse, error) {
	org, err := orgOf(ctx)
	if err != nil {
		return nil, err
	}
	teams, err := checkIDs("team_ids", "team id", req.GetTeamIds())
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	var since time.Time
	if req.GetSince() != nil {
		bad.Check("since", req.GetSince().CheckValid())
		since = req.GetSince().AsTime()
	}
	page := grpcserver.PageOf(&bad, "limit", req.GetLimit(), req.GetPageToken(), "ListAlerts", org,
		strings.Join(teams, ","), since.Format(time.RFC3339Nano), strconv.FormatBool(req.GetUnacknowledgedOnly()))
	var before uint64 // 0: from the newest
	if page.After != "" {
		if before, err = strconv.ParseUint(page.After, 10, 64); err != nil || before == 0 {
			bad.Add("page_token", "%s does not continue a list of alerts", quote.Prefix(req.GetPageToken()))
		}
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	alerts, next, err := s.alertsPage(ctx, org, filterSubjects(org, teams, nil), since, before, page, req.GetUnacknowledgedOnly())
	if err != nil {
		return nil, unavailable(ctx, "list alerts", err)
	}
	return &v1.ListAlertsResponse{Alerts: alerts, NextPageToken: next}, nil
}

// alertsPage returns up to page.Size alerts below sequence before (0: from
// the newest), newest first, with their acknowledgements, and the token of
// the next page ("" when no older alert is left).
func (s *Server) alertsPage(ctx context.Context, org string, filters []string, since time.Time, before uint64, page grpcserver.Page, unackOnly bool) ([]*v1.Alert, string, error) {
	var out []*v1.Alert
	for {
		read := page.Size + 1 - len(out) // one more tells whether a next page exists
		if unackOnly {
			read = max(read, unackWindow)
		}
		window, err := s.latest(ctx, filters, since, before, read)
		if err != nil {
			return nil, "", err
		}
		if err := s.withAcks(ctx, org, window...); err != nil {
			return nil, "", err
		}
		for _, a := range window {
			// The subject filter already excludes other organisations.
			if a.GetOrgId() == org && !(unackOnly && a.GetAcknowledged()) {
				out = append(out, s.shown(a))
			}
		}
		if len(out) > page.Size {
			out = out[:page.Size]
			return out, page.Next(strconv.FormatUint(out[len(out)-1].GetSequence(), 10)), nil
		}
		if len(window) < read {
			return out, "", nil
		}
		before = window[len(window)-1].GetSequence()
	}
}

// latest reads the alerts on filters up to the newest one there is now, or
// below sequence before if it is not 0, and keeps the last limit raised at
// or after since, newest first.
//
// It reads every matching alert from since (or the start): JetStream has no
// "the last N messages of a filter". Alerts are few (one per crossing); a
// per-organisation index can replace this when they are not.
func (s *Server) latest(ctx context.Context, filters []string, since time.Time, before uint64, limit int) ([]*v1.Alert, error) {
	stream, err := s.js.Stream(ctx, eventlog.AlertsStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", eventlog.AlertsStream, err)
	}
	end, endTime, err := lastAlert(ctx, stream, filters)
	if err != nil {
		return nil, err
	}
	if before > 0 {
		end = min(end, before-1)
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
		if seq > end {
			break
		}
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

// lastAlert is the stream sequence and time of the newest alert on filters
// (0: none).
func lastAlert(ctx context.Context, stream jetstream.Stream, filters []string) (uint64, time.Time, error) {
	var end uint64
	var endTime time.Time
	for _, f := range filters {
		msg, err := stream.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("last alert of %s: %w", f, err)
		}
		if msg.Sequence > end {
			end, endTime = msg.Sequence, msg.Time
		}
	}
	return end, endTime, nil
}
