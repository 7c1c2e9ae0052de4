package launcher_test

import (
	"context"
	"net"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// stand-in is an IngestionService for the SDK's own tests and example (the
// real service is exercised end to end in tools/e2e). It fails the first
// `failures` calls with Unavailable, then answers every event id once.
type standIn struct {
	v1.UnimplementedIngestionServiceServer
	mu       sync.Mutex
	failures int
	seen     map[string]int // event id -> calls
	order    []string       // event ids in the order first taken
}

func (s *standIn) take(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		st, _ := status.New(codes.Unavailable, "ledger unreachable").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Millisecond)})
		return st.Err()
	}
	if s.seen[id] == 0 {
		s.order = append(s.order, id)
	}
	s.seen[id]++
	return nil
}

func (s *standIn) Launch(_ context.Context, r *v1.LaunchRequest) (*v1.LaunchResponse, error) {
	if err := s.take(r.GetEventId()); err != nil {
		return nil, err
	}
	return &v1.LaunchResponse{Decision: v1.Decision_DECISION_AUTHORIZED, TokensCharged: 10, WindowId: "w-1", BalanceAfter: 90}, nil
}

func (s *standIn) Heartbeat(_ context.Context, r *v1.HeartbeatRequest) (*v1.HeartbeatResponse, error) {
	if err := s.take(r.GetEventId()); err != nil {
		return nil, err
	}
	return &v1.HeartbeatResponse{KeepRunning: true, WindowId: r.GetWindowId()}, nil
}

func (s *standIn) EndSession(_ context.Context, r *v1.EndSessionRequest) (*v1.EndSessionResponse, error) {
	return &v1.EndSessionResponse{}, s.take(r.GetEventId())
}

func (s *standIn) IngestBatch(_ context.Context, r *v1.IngestBatchRequest) (*v1.IngestBatchResponse, error) {
	resp := &v1.IngestBatchResponse{}
	for _, e := range r.GetEvents() {
		var id string
		switch ev := e.GetEvent().(type) {
		case *v1.OfflineEvent_Launch:
			id = ev.Launch.GetEventId()
		case *v1.OfflineEvent_Heartbeat:
			id = ev.Heartbeat.GetEventId()
		case *v1.OfflineEvent_EndSession:
			id = ev.EndSession.GetEventId()
		}
		if err := s.take(id); err != nil {
			return nil, err
		}
		resp.Results = append(resp.Results, &v1.OfflineEventResult{EventId: id})
	}
	return resp, nil
}

// serve runs s on a free loopback port until stop.
func serve(s *standIn) (addr string, stop func()) {
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	gs := grpc.NewServer()
	v1.RegisterIngestionServiceServer(gs, s)
	go func() { _ = gs.Serve(lis) }()
	return lis.Addr().String(), gs.Stop
}
