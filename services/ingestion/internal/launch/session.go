package launch

import (
	"context"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Heartbeat records a running session. Renewal at the 24-hour mark is the
// ledger's (a later issue); until then a heartbeat never stops a session.
func (s *Server) Heartbeat(ctx context.Context, req *v1.HeartbeatRequest) (*v1.HeartbeatResponse, error) {
	now := s.Now()
	bad := checkSession("", req.GetEventId(), req.GetTeamId(), req.GetUserId(), req.GetProductCode())
	checkClientTime(&bad, "occurred_at", req.GetOccurredAt().AsTime(), req.GetOccurredAt() != nil, now, s.MaxSkew)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	p, err := caller(ctx, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	return s.heartbeat(ctx, p, req)
}

func (s *Server) heartbeat(ctx context.Context, p auth.Principal, req *v1.HeartbeatRequest) (*v1.HeartbeatResponse, error) {
	err := s.record(ctx, p, req.GetEventId(), req.GetTeamId(), s.Now(), &v1.Event_HeartbeatReceived{HeartbeatReceived: &v1.HeartbeatReceived{
		UserId: req.GetUserId(), ProductCode: req.GetProductCode(), DeviceId: req.GetDeviceId(),
		WindowId: req.GetWindowId(), Active: req.GetActive(), OccurredAt: req.GetOccurredAt(),
	}})
	if err != nil {
		return nil, err
	}
	return &v1.HeartbeatResponse{KeepRunning: true, WindowId: req.GetWindowId()}, nil
}

// EndSession records that a session was closed.
func (s *Server) EndSession(ctx context.Context, req *v1.EndSessionRequest) (*v1.EndSessionResponse, error) {
	if err := checkSession("", req.GetEventId(), req.GetTeamId(), req.GetUserId(), req.GetProductCode()).Err(); err != nil {
		return nil, err
	}
	p, err := caller(ctx, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	return s.endSession(ctx, p, req)
}

func (s *Server) endSession(ctx context.Context, p auth.Principal, req *v1.EndSessionRequest) (*v1.EndSessionResponse, error) {
	err := s.record(ctx, p, req.GetEventId(), req.GetTeamId(), s.Now(), &v1.Event_SessionEnded{SessionEnded: &v1.SessionEnded{
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
	p, err := caller(ctx, req.GetTeamId())
	if err != nil {
		return nil, err
	}
	resp, err := s.Ledger.QuoteLaunch(auth.ActingFor(ctx, p.Org), &v1.QuoteLaunchRequest{Quote: req})
	if err != nil {
		return nil, upstream("ledger", err)
	}
	return resp.GetQuote(), nil
}

// IngestBatch takes events a launcher recorded offline and processes them in
// order; each gets its own result, and a retried batch yields each event once
// because every step is idempotent on the event id.
func (s *Server) IngestBatch(ctx context.Context, req *v1.IngestBatchRequest) (*v1.IngestBatchResponse, error) {
	const maxBatch = 1000
	if n := len(req.GetEvents()); n == 0 || n > maxBatch {
		var bad grpcserver.Violations
		bad.Add("events", "send 1 to %d events, got %d", maxBatch, n)
		return nil, bad.Err()
	}
	resp := &v1.IngestBatchResponse{}
	for i, oe := range req.GetEvents() {
		res, err := s.batchOne(ctx, i, oe)
		if st, ok := status.FromError(err); err != nil && ok && st.Code() == codes.Unavailable {
			// Stop at the first event the system could not store: the launcher
			// keeps it and the rest, and retries them in order.
			return nil, err
		}
		if err != nil {
			res.Result = &v1.OfflineEventResult_Error{Error: err.Error()}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func (s *Server) batchOne(ctx context.Context, i int, oe *v1.OfflineEvent) (*v1.OfflineEventResult, error) {
	now := s.Now()
	prefix := "events[" + strconv.Itoa(i) + "]."
	switch e := oe.GetEvent().(type) {
	case *v1.OfflineEvent_Launch:
		r := &v1.OfflineEventResult{EventId: e.Launch.GetEventId()}
		// Offline launches happened in the past: their client time is not bounded by skew.
		if err := checkLaunch(prefix+"launch.", e.Launch, now, 0); err != nil {
			return r, err
		}
		p, err := caller(ctx, e.Launch.GetTeamId())
		if err != nil {
			return r, err
		}
		lr, err := s.launch(ctx, p, e.Launch, now)
		r.Result = &v1.OfflineEventResult_Launch{Launch: lr}
		return r, err
	case *v1.OfflineEvent_Heartbeat:
		r := &v1.OfflineEventResult{EventId: e.Heartbeat.GetEventId()}
		h := e.Heartbeat
		if err := checkSession(prefix+"heartbeat.", h.GetEventId(), h.GetTeamId(), h.GetUserId(), h.GetProductCode()).Err(); err != nil {
			return r, err
		}
		p, err := caller(ctx, h.GetTeamId())
		if err != nil {
			return r, err
		}
		hr, err := s.heartbeat(ctx, p, h)
		r.Result = &v1.OfflineEventResult_Heartbeat{Heartbeat: hr}
		return r, err
	case *v1.OfflineEvent_EndSession:
		r := &v1.OfflineEventResult{EventId: e.EndSession.GetEventId()}
		es := e.EndSession
		if err := checkSession(prefix+"end_session.", es.GetEventId(), es.GetTeamId(), es.GetUserId(), es.GetProductCode()).Err(); err != nil {
			return r, err
		}
		p, err := caller(ctx, es.GetTeamId())
		if err != nil {
			return r, err
		}
		er, err := s.endSession(ctx, p, es)
		r.Result = &v1.OfflineEventResult_EndSession{EndSession: er}
		return r, err
	}
	var bad grpcserver.Violations
	bad.Add(prefix+"event", "must be a launch, heartbeat or end_session")
	return &v1.OfflineEventResult{}, bad.Err()
}
