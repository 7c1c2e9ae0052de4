package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// WatchOpenHeader is the header a WatchAlerts stream sends once it is open.
const WatchOpenHeader = "x-tokenmeter-watch"

// WatchAlerts streams the caller's alerts from from_sequence (0: only new
// ones) until the caller hangs up or the server stops. A watcher that lost
// its stream resumes from the last sequence it saw plus one.
func (s *Server) WatchAlerts(req *v1.WatchAlertsRequest, stream grpc.ServerStreamingServer[v1.WatchAlertsResponse]) error {
	ctx := stream.Context()
	org, err := orgOf(ctx)
	if err != nil {
		return err
	}
	teams, err := checkIDs("team_ids", "team id", req.GetTeamIds())
	if err != nil {
		return err
	}
	kinds, err := checkIDs("kinds", "kind", req.GetKinds())
	if err != nil {
		return err
	}
	release, err := s.watches.take(ctx)
	if err != nil {
		return err
	}
	defer release()
	iter, err := s.watchConsumer(ctx, filterSubjects(org, teams, kinds), req.GetFromSequence())
	if err != nil {
		return err
	}
	defer iter.Stop()
	// The header tells the watcher its stream is open, before any alert.
	if err := stream.SendHeader(metadata.Pairs(WatchOpenHeader, "1")); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	next := req.GetFromSequence() // where a watcher resumes (0: unknown, nothing sent from a known point)
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return s.watchEnded(stream.Context(), err, next)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return status.Errorf(codes.Internal, "alert metadata: %v", err)
		}
		a, err := alertOf(msg.Data(), meta.Sequence.Stream)
		if err != nil {
			s.log.ErrorContext(ctx, "skipping unreadable alert", "err", err)
			continue
		}
		if a.GetOrgId() != org {
			continue // the subject filter already excludes it; never rely on one check
		}
		if err := s.withAcks(ctx, org, a); err != nil {
			s.log.WarnContext(ctx, "acknowledgement unknown", "alert_id", a.GetAlertId(), "err", err)
		}
		if err := stream.Send(&v1.WatchAlertsResponse{Alert: s.shown(a)}); err != nil {
			return err
		}
		next = a.GetSequence() + 1
	}
}

// watchConsumer reads the ALERTS stream's subjects from sequence from (0: new ones only).
func (s *Server) watchConsumer(ctx context.Context, subjects []string, from uint64) (jetstream.MessagesContext, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: jetstream.DeliverNewPolicy}
	if from > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	alerts, err := s.js.Stream(ctx, eventlog.AlertsStream)
	if err != nil {
		return nil, unavailable(ctx, "alerts stream", err)
	}
	cons, err := alerts.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, unavailable(ctx, "watch alerts", err)
	}
	iter, err := cons.Messages()
	if err != nil {
		return nil, unavailable(ctx, "watch alerts", err)
	}
	return iter, nil
}

// watchEnded turns the end of a watch into its status; next is the sequence
// the watcher resumes from (0: after the last alert it received, if any).
func (s *Server) watchEnded(callCtx context.Context, err error, next uint64) error {
	if callCtx.Err() != nil {
		return status.FromContextError(callCtx.Err()).Err()
	}
	select {
	case <-s.stopping:
		if next == 0 {
			return status.Error(codes.Unavailable, "alerting is stopping; resume after the last alert received")
		}
		return status.Errorf(codes.Unavailable, "alerting is stopping; resume from sequence %d", next)
	default:
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "watch cancelled")
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("watch alerts: %v", err))
}
