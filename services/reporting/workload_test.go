package reporting_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// pool folds the events this test appends the way the ledger does: one
// pack, a 24-hour window per user and product, no overdraft. Its totals are
// "the ledger's totals" that ClickHouse must equal (invariant 4).
type pool struct {
	org, team string
	available int64
	windows   map[string]time.Time // user/product -> window end
	// used per product and day (the day the window started).
	used map[string]int64
}

var rates = map[string]int64{"REVIT": 10, "ACAD": 7, "CIVIL3D": 9, "FUSION": 2}

var groupsOf = map[string]string{"REVIT": "AEC", "ACAD": "AutoCAD", "CIVIL3D": "AEC", "FUSION": "Fusion"}

// workload appends a random, ledger-shaped history to the LEDGER stream.
type workload struct {
	t      *testing.T
	js     jetstream.JetStream
	pools  map[string]*pool // org/team
	n      int
	events int
}

func (w *workload) append(ev *v1.Event) {
	w.t.Helper()
	w.n++
	ev.EventId = fmt.Sprintf("%s-%s-%06d", ev.GetOrgId(), ev.GetTeamId(), w.n)
	ev.Actor = &v1.Actor{Kind: "launcher", Id: "test"}
	_, err := eventlog.Append(w.t.Context(), w.js, eventlog.LedgerSubject(ev.GetOrgId(), ev.GetTeamId()), ev, nil)
	require.NoError(w.t, err)
	w.events++
}

func (w *workload) pool(org, team string, tokens int64, at time.Time) *pool {
	p := &pool{org: org, team: team, available: tokens, windows: map[string]time.Time{}, used: map[string]int64{}}
	w.pools[org+"/"+team] = p
	w.append(&v1.Event{OrgId: org, TeamId: team, ServerTime: timestamppb.New(at),
		Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{
			PackId: "pk-" + team, Tokens: tokens, UnitPriceMicros: 3_000_000, Currency: "EUR",
			PurchasedAt: timestamppb.New(at), ExpiresAt: timestamppb.New(at.AddDate(1, 0, 0)),
			Source: v1.PackSource_PACK_SOURCE_PURCHASE, Pool: &v1.PoolFigures{Available: tokens, Live: tokens},
		}}})
	return p
}

func (w *workload) assign(p *pool, user string, at time.Time) {
	w.append(&v1.Event{OrgId: p.org, TeamId: p.team, ServerTime: timestamppb.New(at),
		Payload: &v1.Event_UserAssigned{UserAssigned: &v1.UserAssigned{UserId: user, ProductCodes: []string{"*"}}}})
}

// launch decides a launch as the ledger would and appends its event.
func (w *workload) launch(p *pool, user, product, project string, at time.Time) {
	key := user + "/" + product
	attrs := map[string]string{}
	if project != "" {
		attrs["project"] = project
	}
	version := fmt.Sprint(2024 + len(user)%2)
	ev := &v1.Event{OrgId: p.org, TeamId: p.team, ServerTime: timestamppb.New(at)}
	rate := rates[product]
	switch end, open := p.windows[key]; {
	case open && at.Before(end):
		ev.Payload = &v1.Event_LaunchCovered{LaunchCovered: &v1.LaunchCovered{
			UserId: user, ProductCode: product, ProductVersion: version, DeviceId: "pc-" + user,
			WindowEnd: timestamppb.New(end), Attributes: attrs}}
	case p.available < rate:
		ev.Payload = &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{
			UserId: user, ProductCode: product, ProductVersion: version, Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS,
			TokensRequired: rate, Pool: &v1.PoolFigures{Available: p.available}, Attributes: attrs}}
	default:
		p.available -= rate
		p.windows[key] = at.Add(24 * time.Hour)
		p.used[product+"/"+at.UTC().Format(time.DateOnly)] += rate
		ev.Payload = &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{
			UserId: user, ProductCode: product, ProductVersion: version, DeviceId: "pc-" + user,
			WindowId: fmt.Sprint("w-", w.n+1), WindowStart: timestamppb.New(at), WindowEnd: timestamppb.New(at.Add(24 * time.Hour)),
			Tokens: rate, Split: []*v1.PackSplit{{PackId: "pk-" + p.team, Tokens: rate}},
			Pool: &v1.PoolFigures{Available: p.available}, Attributes: attrs, ProductGroup: groupsOf[product]}}
	}
	w.append(ev)
}

// randomWorkload runs launches over the 20 days before today for two
// organisations that share team and user ids.
func randomWorkload(t *testing.T, js jetstream.JetStream, seed uint64) *workload {
	t.Helper()
	w := &workload{t: t, js: js, pools: map[string]*pool{}}
	rng := rand.New(rand.NewPCG(seed, 1))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	start := today.AddDate(0, 0, -20)
	products := []string{"REVIT", "ACAD", "CIVIL3D", "FUSION"}
	for _, org := range []string{"acme", "globex"} {
		for _, team := range []string{"design", "civil"} {
			p := w.pool(org, team, 2500, start.Add(time.Hour))
			for u := range 6 {
				w.assign(p, fmt.Sprintf("user-%d", u), start.Add(2*time.Hour))
			}
		}
	}
	for day := range 20 {
		for _, key := range []string{"acme/design", "acme/civil", "globex/design", "globex/civil"} {
			p := w.pools[key]
			for range 6 + rng.IntN(10) {
				at := start.AddDate(0, 0, day).Add(time.Duration(7*3600+rng.IntN(12*3600)) * time.Second)
				user := fmt.Sprintf("user-%d", rng.IntN(5)) // user-5 never launches: idle
				w.launch(p, user, products[rng.IntN(len(products))], fmt.Sprintf("P-%d", rng.IntN(3)), at)
			}
		}
	}
	return w
}

// fakeLedger answers GetBalance from the workload's fold; it records the
// organisation each call acted for.
type fakeLedger struct {
	v1.UnimplementedLedgerServiceServer
	mu    sync.Mutex
	w     *workload
	calls []string
}

func (f *fakeLedger) GetBalance(ctx context.Context, req *v1.GetBalanceRequest) (*v1.GetBalanceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	org := ""
	if v := md.Get(auth.MetadataOrg); len(v) > 0 {
		org = v[0]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, org+"/"+req.GetTeamId())
	p := f.w.pools[org+"/"+req.GetTeamId()]
	if p == nil {
		return &v1.GetBalanceResponse{Balance: &v1.Balance{TeamId: req.GetTeamId()}}, nil
	}
	return &v1.GetBalanceResponse{Balance: &v1.Balance{TeamId: req.GetTeamId(), Available: p.available,
		Packs: []*v1.Pack{{PackId: "pk-" + p.team, Remaining: p.available,
			ExpiresAt: timestamppb.New(time.Now().AddDate(0, 10, 0))}}}}, nil
}

func startFakeLedger(t *testing.T, f *fakeLedger) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	v1.RegisterLedgerServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}
