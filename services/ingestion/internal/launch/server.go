package launch

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Server implements IngestionService.
type Server struct {
	v1.UnimplementedIngestionServiceServer
	// Ledger picks the ledger replica of each pool.
	Ledger  Ledgers
	JS      jetstream.JetStream
	Now     func() time.Time
	MaxSkew time.Duration
	// AppendTimeout bounds the wait for JetStream's acknowledgement (0: 1s).
	AppendTimeout time.Duration
	// LedgerTimeout bounds a ledger call made without the Coalescer (which
	// has its own; 0: the caller's deadline alone).
	LedgerTimeout time.Duration
	// Partitions spreads telemetry over USAGE-<p> by subject.PartitionOf
	// (0 or 1: the one USAGE stream). Telemetry needs no placement record:
	// its readers order it per stream only.
	Partitions int
	// Coalescer, when set, sends concurrent launches to the ledger together;
	// nil: one Authorize call each.
	Coalescer *Coalescer
	// Limit bounds the launcher calls in flight (nil: unbounded).
	Limit *Limiter
}

func caller(ctx context.Context, team string) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, status.Error(codes.Unauthenticated, "no caller")
	}
	if err := p.CheckTeam(team); err != nil {
		return p, status.Errorf(codes.PermissionDenied, "this key belongs to team %q and may not act for team %s", p.Team, quote.Prefix(team))
	}
	return p, nil
}

// Launch authorizes a launch. It answers AUTHORIZED only for a charge the
// ledger has made durable, and only after the raw event is on the USAGE stream.
func (s *Server) Launch(ctx context.Context, req *v1.LaunchRequest) (*v1.LaunchResponse, error) {
	now := s.Now()
	if err := checkLaunch("", req, now, s.MaxSkew); err != nil {
		return nil, err
	}
	p, err := caller(ctx, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	if err := s.Limit.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.Limit.release()
	return s.launch(ctx, p, req, now)
}

func (s *Server) launch(ctx context.Context, p auth.Principal, req *v1.LaunchRequest, now time.Time) (res *v1.LaunchResponse, err error) {
	var duplicate bool
	defer func() { countLaunch(ctx, res, duplicate, err) }()
	// One timestamp for the ledger's request and the USAGE event: neither
	// changes it.
	at := timestamppb.New(now)
	res, err = s.authorize(ctx, p.Org, &v1.AuthorizeRequest{Launch: req, ReceivedAt: at})
	if err != nil {
		return nil, upstream("ledger", err)
	}
	received := &v1.LaunchReceived{
		UserId: req.GetUserId(), ProductCode: req.GetProductCode(), ProductVersion: req.GetProductVersion(),
		DeviceId: req.GetDeviceId(), OccurredAt: req.GetOccurredAt(), Attributes: req.GetAttributes(),
		Decision: res.GetDecision(), DenyReason: res.GetDenyReason(), TokensCharged: res.GetTokensCharged(),
		WindowId: res.GetWindowId(),
	}
	if req.GetOccurredAt() != nil {
		received.ClockSkewMs = now.Sub(req.GetOccurredAt().AsTime()).Milliseconds()
	}
	duplicate, err = s.record(ctx, p, req.GetEventId(), req.GetTeamId(), at, &v1.Event_LaunchReceived{LaunchReceived: received})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Server) authorize(ctx context.Context, org string, req *v1.AuthorizeRequest) (*v1.LaunchResponse, error) {
	if s.Coalescer != nil {
		return s.Coalescer.Authorize(ctx, org, req)
	}
	if s.LedgerTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = within(ctx, s.LedgerTimeout)
		defer cancel()
	}
	return authorizeOne(ctx, s.Ledger, org, req)
}

// within is ctx bounded by timeout from now, or ctx itself (with a no-op
// cancel) when its own deadline is sooner: no timer for nothing.
func within(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// record appends a raw launcher event, stamped with the server's time of
// receipt at, to the USAGE stream (deduplicated by event id: duplicate says
// it was there already).
func (s *Server) record(ctx context.Context, p auth.Principal, eventID, team string, at *timestamppb.Timestamp, payload any) (duplicate bool, err error) {
	ev := &v1.Event{
		EventId: eventID, OrgId: p.Org, TeamId: team, ServerTime: at,
		Actor: &v1.Actor{Kind: string(p.Role), Id: p.KeyID},
	}
	switch pl := payload.(type) {
	case *v1.Event_LaunchReceived:
		ev.Payload = pl
	case *v1.Event_HeartbeatReceived:
		ev.Payload = pl
	case *v1.Event_SessionEnded:
		ev.Payload = pl
	default:
		return false, status.Errorf(codes.Internal, "unexpected usage payload %T", payload)
	}
	timeout := s.AppendTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	actx, cancel := within(ctx, timeout)
	defer cancel()
	part := subject.PartitionOf(p.Org, team, s.Partitions)
	app, err := eventlog.Append(actx, s.JS, subject.UsageSubjectIn(part, p.Org, team), ev, nil)
	if err != nil {
		return false, unavailable(fmt.Sprintf("could not record the event: %v", err))
	}
	if app.Duplicate {
		return true, s.sameEvent(actx, subject.UsageStreamOf(part), app.Sequence, ev)
	}
	return false, nil
}

// upstream turns a ledger error into the launcher's answer: the ledger's own
// verdicts pass through; an unreachable ledger becomes Unavailable with a retry hint.
func upstream(name string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return unavailable(name + " unreachable: " + err.Error())
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.ResourceExhausted, codes.Unknown:
		return unavailable(name + ": " + st.Message())
	case codes.Unauthenticated, codes.PermissionDenied, codes.Internal:
		// The launcher's own credentials were fine; the service-to-service call was not.
		return status.Errorf(codes.Internal, "%s refused ingestion: %s", name, st.Message())
	}
	return st.Err()
}

// unavailable is the retryable error: the launcher retries the same event id.
func unavailable(msg string) error {
	return grpcserver.Retryable(codes.Unavailable, 500*time.Millisecond, msg+"; retry with the same event_id")
}
