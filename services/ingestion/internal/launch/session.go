package launch

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Heartbeat records a running session; past its window's end the ledger
// renews a session still in use, and the answer says whether to keep running.
func (s *Server) Heartbeat(ctx context.Context, req *v1.HeartbeatRequest) (*v1.HeartbeatResponse, error) {
	now := s.Now()
	bad := checkSession("", req)
	checkClientTime(&bad, "occurred_at", req.GetOccurredAt().AsTime(), req.GetOccurredAt() != nil, now, s.MaxSkew)
	if err := bad.Err(); err != nil {
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
	return s.heartbeat(ctx, p, req, now)
}

func (s *Server) heartbeat(ctx context.Context, p auth.Principal, req *v1.HeartbeatRequest, now time.Time) (*v1.HeartbeatResponse, error) {
	at := timestamppb.New(now)
	hb := &v1.RecordHeartbeatRequest{Heartbeat: req, ReceivedAt: at}
	resp, err := ask(ctx, s.Ledger, p.Org, req.GetTeamId(), func(ctx context.Context, c v1.LedgerServiceClient) (*v1.RecordHeartbeatResponse, error) {
		return c.RecordHeartbeat(ctx, hb)
	})
	res := resp.GetResult()
	switch {
	case status.Code(err) == codes.Unimplemented:
		// A ledger without renewal: the session runs on, and is still recorded.
		res = &v1.HeartbeatResponse{KeepRunning: true, WindowId: req.GetWindowId()}
	case err != nil:
		return nil, upstream("ledger", err)
	case res == nil:
		res = &v1.HeartbeatResponse{KeepRunning: true, WindowId: req.GetWindowId()}
	}
	_, err = s.record(ctx, p, req.GetEventId(), req.GetTeamId(), at, &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{
		UserId: req.GetUserId(), ProductCode: req.GetProductCode(), DeviceId: req.GetDeviceId(),
		WindowId: req.GetWindowId(), Active: req.GetActive(), OccurredAt: req.GetOccurredAt(),
	}})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// EndSession records that a session was closed.
func (s *Server) EndSession(ctx context.Context, req *v1.EndSessionRequest) (*v1.EndSessionResponse, error) {
	if err := checkSession("", req).Err(); err != nil {
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
	return s.endSession(ctx, p, req, s.Now())
}

func (s *Server) endSession(ctx context.Context, p auth.Principal, req *v1.EndSessionRequest, now time.Time) (*v1.EndSessionResponse, error) {
	_, err := s.record(ctx, p, req.GetEventId(), req.GetTeamId(), timestamppb.New(now), &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{
		UserId: req.GetUserId(), ProductCode: req.GetProductCode(), DeviceId: req.GetDeviceId(),
		WindowId: req.GetWindowId(), OccurredAt: req.GetOccurredAt(),
	}})
	if err != nil {
		return nil, err
	}
	return &v1.EndSessionResponse{}, nil
}

// Quote tells a launcher what a launch would cost now, so it can ask the user first.
func (s *Server) Quote(ctx context.Context, req *v1.QuoteRequest) (*v1.QuoteResponse, error) {
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	bad.Check("product_code", eventlog.CheckID("product_code", req.GetProductCode()))
	if err := bad.Err(); err != nil {
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
	resp, err := ask(ctx, s.Ledger, p.Org, req.GetTeamId(), func(ctx context.Context, c v1.LedgerServiceClient) (*v1.QuoteLaunchResponse, error) {
		return c.QuoteLaunch(ctx, &v1.QuoteLaunchRequest{Quote: req})
	})
	if err != nil {
		return nil, upstream("ledger", err)
	}
	return resp.GetQuote(), nil
}
