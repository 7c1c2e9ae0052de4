package ingestion_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion"
)

// Test keys: two launcher keys of organisation acme, its admin, a launcher
// key of globex.
const (
	adminKey  = "admin-secret:acme:admin"
	designKey = "launch-design"
	civilKey  = "launch-civil"
	globexKey = "launch-globex"
	testKeys  = adminKey + ",launch-design:acme:launcher:design,launch-civil:acme:launcher:civil,launch-globex:globex:launcher:design"
)

// fakeLedger stands in for the ledger (another service): it authorizes every
// launch once per event id, refuses a reused id with another payload, and
// can be taken down. NATS is real.
type fakeLedger struct {
	v1.UnimplementedLedgerServiceServer
	down     atomic.Bool
	mu       sync.Mutex
	launches map[string]*v1.LaunchRequest
	calls    atomic.Int64
	// noBatch makes AuthorizeBatch Unimplemented, as on an older ledger.
	noBatch atomic.Bool
	batches atomic.Int64
	// lone counts the Authorize calls (a launch alone, not in a batch).
	lone atomic.Int64
	// orgs records the organisation each launch was decided for.
	orgs sync.Map
	// hold, while set, keeps each Authorize waiting until it is closed.
	hold atomic.Pointer[chan struct{}]
}

// deniedUser is refused every launch, as a user not assigned to the team.
const deniedUser = "nobody"

// AuthorizeBatch answers each launch as Authorize, in order, as the ledger does.
func (f *fakeLedger) AuthorizeBatch(ctx context.Context, req *v1.AuthorizeBatchRequest) (*v1.AuthorizeBatchResponse, error) {
	if f.noBatch.Load() {
		return nil, status.Error(codes.Unimplemented, "no AuthorizeBatch here")
	}
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "ledger down")
	}
	f.batches.Add(1)
	resp := &v1.AuthorizeBatchResponse{}
	for _, l := range req.GetLaunches() {
		r, err := f.authorize(ctx, l)
		st := status.Convert(err)
		resp.Outcomes = append(resp.Outcomes, &v1.AuthorizeOutcome{Result: r.GetResult(), ErrorCode: int32(st.Code()), ErrorMessage: st.Message()})
	}
	return resp, nil
}

func (f *fakeLedger) Authorize(ctx context.Context, req *v1.AuthorizeRequest) (*v1.AuthorizeResponse, error) {
	f.lone.Add(1)
	return f.authorize(ctx, req)
}

// authorize decides one launch, alone or in a batch.
func (f *fakeLedger) authorize(ctx context.Context, req *v1.AuthorizeRequest) (*v1.AuthorizeResponse, error) {
	f.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	f.orgs.Store(req.GetLaunch().GetEventId(), strings.Join(md.Get("x-tokenmeter-org"), ","))
	if h := f.hold.Load(); h != nil {
		<-*h
	}
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "ledger down")
	}
	if req.GetLaunch().GetUserId() == deniedUser {
		return &v1.AuthorizeResponse{Result: &v1.LaunchResponse{Decision: v1.Decision_DECISION_DENIED, DenyReason: v1.DenyReason_DENY_REASON_USER_NOT_ASSIGNED}}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l := req.GetLaunch()
	if prev, ok := f.launches[l.GetEventId()]; ok && (prev.GetUserId() != l.GetUserId() || prev.GetProductCode() != l.GetProductCode()) {
		return nil, status.Errorf(codes.AlreadyExists, "event_id %s was used for another launch", l.GetEventId())
	}
	f.launches[l.GetEventId()] = l
	return &v1.AuthorizeResponse{Result: &v1.LaunchResponse{Decision: v1.Decision_DECISION_AUTHORIZED, TokensCharged: 10, WindowId: "w-" + l.GetEventId()}}, nil
}

func (f *fakeLedger) QuoteLaunch(_ context.Context, req *v1.QuoteLaunchRequest) (*v1.QuoteLaunchResponse, error) {
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "ledger down")
	}
	return &v1.QuoteLaunchResponse{Quote: &v1.QuoteResponse{Tokens: 10, Affordable: true}}, nil
}

type env struct {
	svc    *ingestion.Service
	ledger *fakeLedger
	nats   string
}

// start runs ingestion on free ports against embedded NATS and a fake ledger.
func start(t *testing.T, natsURL string, edit func(*ingestion.Config)) *env {
	t.Helper()
	if natsURL == "" {
		natsURL, _ = testkit.NATS(t)
	}
	fl := &fakeLedger{launches: map[string]*v1.LaunchRequest{}}
	gs := grpc.NewServer()
	v1.RegisterLedgerServiceServer(gs, fl)
	lis, err := netListen()
	require.NoError(t, err)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	cfg := ingestion.Config{MaxClockSkew: time.Hour}
	cfg.Listen, cfg.HTTPListen, cfg.NATSURL, cfg.APIKeys = "127.0.0.1:0", "127.0.0.1:0", natsURL, testKeys
	cfg.LedgerAddr, cfg.LedgerAPIKey, cfg.LogLevel = lis.Addr().String(), "svc-secret", "info"
	cfg.NATSCreds = testkit.Creds(t, natsURL, "ingestion")
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithCancel(t.Context())
	svc, err := ingestion.New(ctx, cfg, discard())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return &env{svc: svc, ledger: fl, nats: natsURL}
}

// door calls IngestionService one way; errors come back as gRPC statuses.
type door interface {
	call(ctx context.Context, key, method string, req, resp proto.Message) error
}

type grpcDoor struct{ conn *grpc.ClientConn }

func (d grpcDoor) call(ctx context.Context, key, method string, req, resp proto.Message) error {
	if key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	return d.conn.Invoke(ctx, "/tokenmeter.v1.IngestionService/"+method, req, resp)
}

type httpDoor struct{ base string }

func (d httpDoor) call(ctx context.Context, key, method string, req, resp proto.Message) error {
	body, err := protojson.Marshal(req)
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/tokenmeter.v1.IngestionService/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return d.do(r, resp)
}

func (d httpDoor) do(r *http.Request, resp proto.Message) error {
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var st spb.Status
		if err := protojson.Unmarshal(data, &st); err != nil {
			return fmt.Errorf("http %d: %s", res.StatusCode, data)
		}
		if want := httpStatus[codes.Code(st.GetCode())]; want != 0 && want != res.StatusCode {
			return fmt.Errorf("http %d for %s", res.StatusCode, codes.Code(st.GetCode()))
		}
		if codes.Code(st.GetCode()) == codes.Unavailable || codes.Code(st.GetCode()) == codes.ResourceExhausted {
			if res.Header.Get("Retry-After") == "" {
				return fmt.Errorf("http %d without Retry-After", res.StatusCode)
			}
		}
		return status.ErrorProto(&st)
	}
	return protojson.Unmarshal(data, resp)
}

// httpStatus is what launchers without gRPC see for each code.
var httpStatus = map[codes.Code]int{
	codes.InvalidArgument: 400, codes.Unauthenticated: 401, codes.PermissionDenied: 403,
	codes.NotFound: 404, codes.AlreadyExists: 409, codes.ResourceExhausted: 429, codes.Unavailable: 503,
}

func doors(t *testing.T, e *env) map[string]door {
	t.Helper()
	conn, err := grpc.NewClient(e.svc.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return map[string]door{"grpc": grpcDoor{conn}, "http": httpDoor{"http://" + e.svc.HTTPAddr()}}
}

func badFields(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

func id(door, name string) string { return strings.ReplaceAll("evt-"+door+"-"+name, " ", "-") }
