package launch

import (
	"context"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// IngestBatch takes events a launcher recorded offline and processes them in
// order; each gets its own result. A batch is never partly lost: it stops at
// the first event the system could not store and answers Unavailable, and
// the launcher resends the whole batch. Every step is idempotent on the
// event id (the ledger's decisions, the USAGE stream's Nats-Msg-Id), so a
// resent batch yields each event once and the same answers.
func (s *Server) IngestBatch(ctx context.Context, req *v1.IngestBatchRequest) (*v1.IngestBatchResponse, error) {
	var bad grpcserver.Violations
	if n := len(req.GetEvents()); n == 0 || n > MaxBatch {
		bad.Add("events", "send 1 to %d events, got %d", MaxBatch, n)
	}
	checkSize(&bad, "payload", req, MaxBatchBytes)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	// A batch is one call: its events go one after another in one slot.
	if err := s.Limit.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.Limit.release()
	resp := &v1.IngestBatchResponse{}
	for i, oe := range req.GetEvents() {
		res, err := s.batchOne(ctx, i, oe)
		if retryable(err) {
			// The launcher keeps this event and the rest, and resends them in order.
			return nil, err
		}
		if err != nil {
			res.Result = &v1.OfflineEventResult_Error{Error: err.Error()}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Internal:
		return true
	}
	return false
}

func (s *Server) batchOne(ctx context.Context, i int, oe *v1.OfflineEvent) (*v1.OfflineEventResult, error) {
	now := s.Now()
	prefix := "events[" + strconv.Itoa(i) + "]."
	switch e := oe.GetEvent().(type) {
	case *v1.OfflineEvent_Launch:
		r := resultOf(e.Launch.GetEventId())
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
		r := resultOf(e.Heartbeat.GetEventId())
		if err := checkSession(prefix+"heartbeat.", e.Heartbeat).Err(); err != nil {
			return r, err
		}
		p, err := caller(ctx, e.Heartbeat.GetTeamId())
		if err != nil {
			return r, err
		}
		hr, err := s.heartbeat(ctx, p, e.Heartbeat, now)
		r.Result = &v1.OfflineEventResult_Heartbeat{Heartbeat: hr}
		return r, err
	case *v1.OfflineEvent_EndSession:
		r := resultOf(e.EndSession.GetEventId())
		if err := checkSession(prefix+"end_session.", e.EndSession).Err(); err != nil {
			return r, err
		}
		p, err := caller(ctx, e.EndSession.GetTeamId())
		if err != nil {
			return r, err
		}
		er, err := s.endSession(ctx, p, e.EndSession, now)
		r.Result = &v1.OfflineEventResult_EndSession{EndSession: er}
		return r, err
	}
	var bad grpcserver.Violations
	bad.Add(prefix+"event", "must be a launch, heartbeat or end_session")
	return &v1.OfflineEventResult{}, bad.Err()
}

// resultOf starts an event's result. It names the event only by a valid id:
// an answer must not carry back a malformed (e.g. 100 KB) one, and results
// are in the order of the events anyway.
func resultOf(eventID string) *v1.OfflineEventResult {
	if !launchrules.ValidEventID(eventID) {
		eventID = ""
	}
	return &v1.OfflineEventResult{EventId: eventID}
}
