package alerting_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting"
)

const (
	acmeAdmin    = "acme-admin-secret"
	otherAdmin   = "other-admin-secret"
	anyService   = "service-secret-any"
	acmeLauncher = "acme-launcher-secret"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// harness is a running alerting service, a ledger writer and gRPC clients.
type harness struct {
	t   *testing.T
	svc *alerting.Service
	js  jetstream.JetStream // the ledger's connection
	url string
	n   int

	cancel context.CancelFunc
	done   chan error
}

// startService runs the service for organisations acme and other, acme
// showing its people as they are (as its owner set through the ledger).
func startService(t *testing.T) *harness { return startServiceShowing(t, true) }

func startServiceShowing(t *testing.T, acmeShows bool) *harness {
	t.Helper()
	return startServiceWith(t, acmeShows, nil)
}

// startServiceWith is startServiceShowing with tweak applied to the config.
func startServiceWith(t *testing.T, acmeShows bool, tweak func(*alerting.Config)) *harness {
	t.Helper()
	url, _ := testkit.NATS(t)
	// The test plays the ledger, and ingestion provisions USAGE, as each
	// would before alerting starts reading them.
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "ledger"), "ledger-writer", quiet(),
		eventlog.Streams{Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	usage, _, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "ingestion"), "usage-writer", quiet(),
		eventlog.Streams{Own: []string{eventlog.UsageStream}})
	require.NoError(t, err)
	usage.Close()
	_, err = eventlog.Append(t.Context(), js, eventlog.CatalogSubject("acme"), &v1.Event{
		EventId: "acme-personal-data", Type: "personal_data_set", OrgId: "acme", ServerTime: timestamppb.Now(),
		Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: acmeShows}},
	}, nil)
	require.NoError(t, err)
	cfg := alerting.Config{
		Common: config.Common{
			Listen:    "127.0.0.1:0",
			NATSURL:   url,
			NATSCreds: testkit.Creds(t, url, "alerting"),
			APIKeys: strings.Join([]string{
				acmeAdmin + ":acme:admin",
				otherAdmin + ":other:admin",
				anyService + ":*:service:reporting",
				acmeLauncher + ":acme:launcher:design",
			}, ","),
			LogLevel: "info",
		},
		LowBalancePercent: 20,
		WebhookAttempts:   3,
		WebhookBackoff:    5 * time.Millisecond,
		WebhookAllow:      "127.0.0.1",
		UserHashKey:       testkit.UserHashKey,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	svc, err := alerting.New(t.Context(), cfg, testkit.FailureLog(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{t: t, svc: svc, js: js, url: url, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- svc.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		require.NoError(h.t, err)
	case <-time.After(15 * time.Second):
		h.t.Fatal("service did not stop")
	}
}

// append writes one ledger event of org/team carrying pool figures and waits
// until the service has folded it.
func (h *harness) append(org, team string, payload *v1.Event, available, live int64) uint64 {
	h.t.Helper()
	return h.appendIn(subject.Unpartitioned, org, team, payload, available, live)
}

// appendIn is append on the stream of partition p.
func (h *harness) appendIn(p int, org, team string, payload *v1.Event, available, live int64) uint64 {
	h.t.Helper()
	h.n++
	pool := &v1.PoolFigures{Available: available, Live: live}
	switch p := payload.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		p.WindowCharged.Pool = pool
	case *v1.Event_PackAdded:
		p.PackAdded.Pool = pool
	case *v1.Event_LaunchDenied:
		p.LaunchDenied.Pool = pool
	}
	payload.EventId = fmt.Sprintf("ev-%d", h.n)
	payload.OrgId, payload.TeamId = org, team
	payload.ServerTime = timestamppb.New(time.Date(2026, 3, 2, 9, h.n, 0, 0, time.UTC))
	res, err := eventlog.Append(h.t.Context(), h.js, subject.LedgerSubjectIn(p, org, team), payload, nil)
	require.NoError(h.t, err)
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, h.svc.WaitStream(ctx, subject.LedgerStreamOf(p), res.Sequence))
	return res.Sequence
}

func charged() *v1.Event {
	return &v1.Event{Payload: &v1.Event_WindowCharged{WindowCharged: &v1.WindowCharged{ProductCode: "RVT", Tokens: 10}}}
}

func packAdded() *v1.Event {
	return &v1.Event{Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "p", Tokens: 1000}}}
}

// crossing makes team of org cross the low-balance threshold once (after a
// recovery) and returns the LEDGER sequence of the crossing.
func (h *harness) crossing(org, team string) uint64 {
	h.append(org, team, packAdded(), 1000, 1000)
	return h.append(org, team, charged(), 100, 1000)
}

func (h *harness) client(key string) v1.AlertingServiceClient {
	h.t.Helper()
	conn, err := grpcserver.Dial(h.svc.Addr(), key)
	require.NoError(h.t, err)
	h.t.Cleanup(func() { _ = conn.Close() })
	return v1.NewAlertingServiceClient(conn)
}

// receive reads n alerts from a watch.
func receive(t *testing.T, stream grpc.ServerStreamingClient[v1.WatchAlertsResponse], n int) []*v1.Alert {
	t.Helper()
	out := make([]*v1.Alert, 0, n)
	for range n {
		resp, err := stream.Recv()
		require.NoError(t, err)
		out = append(out, resp.GetAlert())
	}
	return out
}

func watch(t *testing.T, c v1.AlertingServiceClient, req *v1.WatchAlertsRequest) (grpc.ServerStreamingClient[v1.WatchAlertsResponse], context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	stream, err := c.WatchAlerts(ctx, req)
	require.NoError(t, err)
	return stream, cancel
}

func TestWatchAlertsReceivesTheAlert(t *testing.T) {
	t.Parallel()
	h := startService(t)
	crossed := h.crossing("acme", "design")

	stream, cancel := watch(t, h.client(acmeAdmin), &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	got := receive(t, stream, 1)[0]
	require.Equal(t, "low_balance.acme.design."+fmt.Sprint(crossed), got.GetAlertId())
	require.Equal(t, "acme", got.GetOrgId())
	require.Equal(t, "design", got.GetTeamId())
	require.Equal(t, "low_balance", got.GetKind())
	require.Equal(t, v1.Severity_SEVERITY_WARNING, got.GetSeverity())
	require.Equal(t, "Team design has 100 tokens left (10 %) of 1000 live", got.GetMessage())
	require.Equal(t, uint64(1), got.GetSequence())
	require.Equal(t, crossed, got.GetSourceSequence())

	// The same stream carries alerts raised after it opened.
	h.append("acme", "design", charged(), 0, 1000)
	h.append("acme", "design", packAdded(), 1000, 2000)
	again := h.append("acme", "design", charged(), 300, 2000)
	got = receive(t, stream, 1)[0]
	require.Equal(t, again, got.GetSourceSequence())
	require.Equal(t, uint64(2), got.GetSequence())
}

func TestWatchAlertsResumesWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	var sources []uint64
	for range 3 {
		sources = append(sources, h.crossing("acme", "design"))
	}

	stream, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1})
	first := receive(t, stream, 2)
	cancel()

	for range 2 {
		sources = append(sources, h.crossing("acme", "design"))
	}
	resumed, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: first[len(first)-1].GetSequence() + 1})
	defer cancel()
	rest := receive(t, resumed, 3)

	var gotSources, gotSeqs []uint64
	for _, a := range append(first, rest...) {
		gotSources = append(gotSources, a.GetSourceSequence())
		gotSeqs = append(gotSeqs, a.GetSequence())
	}
	require.Equal(t, sources, gotSources)
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, gotSeqs)
}

func TestWatchAlertsFromZeroSendsOnlyNewOnes(t *testing.T) {
	t.Parallel()
	h := startService(t)
	old := h.crossing("acme", "design")
	stream, cancel := watch(t, h.client(acmeAdmin), &v1.WatchAlertsRequest{})
	defer cancel()

	// The server may not have subscribed yet when the client's call returns:
	// raise new alerts until one comes through.
	received := make(chan *v1.Alert, 1)
	go func() {
		resp, err := stream.Recv()
		if err == nil {
			received <- resp.GetAlert()
		}
	}()
	var got *v1.Alert
	require.Eventually(t, func() bool {
		select {
		case got = <-received:
			return true
		default:
			h.crossing("acme", "design")
			return false
		}
	}, 15*time.Second, 20*time.Millisecond)
	require.Greater(t, got.GetSourceSequence(), old)
	require.Greater(t, got.GetSequence(), uint64(1))
}

func TestWatchAlertsIsConfinedToTheCallersOrg(t *testing.T) {
	t.Parallel()
	h := startService(t)
	for range 2 {
		h.crossing("acme", "design")
	}
	theirs := h.crossing("other", "design")

	// other's admin starts at the beginning: acme's alerts come first in the
	// stream, yet the first alert it sees is its own.
	stream, cancel := watch(t, h.client(otherAdmin), &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	got := receive(t, stream, 1)[0]
	require.Equal(t, "other", got.GetOrgId())
	require.Equal(t, theirs, got.GetSourceSequence())
	require.Equal(t, uint64(3), got.GetSequence())

	list, err := h.client(otherAdmin).ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 1)
	require.Equal(t, "other", list.GetAlerts()[0].GetOrgId())

	list, err = h.client(acmeAdmin).ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 2)
	for _, a := range list.GetAlerts() {
		require.Equal(t, "acme", a.GetOrgId())
	}
}

func TestWatchAlertsFilters(t *testing.T) {
	t.Parallel()
	h := startService(t)
	h.crossing("acme", "design")
	build := h.crossing("acme", "build")
	denied := h.append("acme", "build", &v1.Event{Payload: &v1.Event_LaunchDenied{LaunchDenied: &v1.LaunchDenied{
		ProductCode: "RVT", Reason: v1.DenyReason_DENY_REASON_INSUFFICIENT_TOKENS, TokensRequired: 200}}}, 100, 1000)
	c := h.client(acmeAdmin)

	stream, cancel := watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1, TeamIds: []string{"build", "build"}})
	defer cancel()
	got := receive(t, stream, 2)
	require.Equal(t, []uint64{build, denied}, []uint64{got[0].GetSourceSequence(), got[1].GetSourceSequence()})

	stream, cancel = watch(t, c, &v1.WatchAlertsRequest{FromSequence: 1, Kinds: []string{"launch_denied"}})
	defer cancel()
	got = receive(t, stream, 1)
	require.Equal(t, "launch_denied", got[0].GetKind())
	require.Equal(t, denied, got[0].GetSourceSequence())
}

func TestInvalidArgumentsNameTheField(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	for _, tt := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"watch team id", func() error {
			stream, cancel := watch(t, c, &v1.WatchAlertsRequest{TeamIds: []string{"design", "a.>"}})
			defer cancel()
			_, err := stream.Recv()
			return err
		}, "team_ids[1]"},
		{"watch kind", func() error {
			stream, cancel := watch(t, c, &v1.WatchAlertsRequest{Kinds: []string{"*"}})
			defer cancel()
			_, err := stream.Recv()
			return err
		}, "kinds[0]"},
		{"list team id", func() error {
			_, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{TeamIds: []string{""}})
			return err
		}, "team_ids[0]"},
		{"list limit", func() error {
			_, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{Limit: -1})
			return err
		}, "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := status.FromError(tt.call())
			require.True(t, ok)
			require.Equal(t, codes.InvalidArgument, st.Code(), st.Message())
			require.Len(t, st.Details(), 1)
			br, ok := st.Details()[0].(*errdetails.BadRequest)
			require.True(t, ok)
			require.Equal(t, tt.field, br.GetFieldViolations()[0].GetField())
		})
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	h := startService(t)
	_, err := h.client(acmeLauncher).ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = h.client("").ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	// No service calls alerting: a stolen service key sets no webhook.
	_, err = h.client(anyService).SetWebhook(auth.ActingFor(t.Context(), "acme"), &v1.SetWebhookRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = h.client(anyService).ListAlerts(auth.ActingFor(t.Context(), "acme"), &v1.ListAlertsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = h.client(acmeAdmin).AcknowledgeAlert(t.Context(), &v1.AcknowledgeAlertRequest{AlertId: "x"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	conn, err := grpcserver.Dial(h.svc.Addr(), "")
	require.NoError(t, err)
	defer conn.Close()
	health, err := grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, grpc_health_v1.HealthCheckResponse_SERVING, health.GetStatus())
}

func TestListAlertsNewestFirst(t *testing.T) {
	t.Parallel()
	h := startService(t)
	c := h.client(acmeAdmin)
	list, err := c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetAlerts())

	var sources []uint64
	for i := range 5 {
		team := "design"
		if i%2 == 1 {
			team = "build"
		}
		sources = append(sources, h.crossing("acme", team))
	}
	h.crossing("other", "design")

	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{})
	require.NoError(t, err)
	var got []uint64
	for _, a := range list.GetAlerts() {
		got = append(got, a.GetSourceSequence())
	}
	require.Equal(t, []uint64{sources[4], sources[3], sources[2], sources[1], sources[0]}, got)

	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{Limit: 2})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 2)
	require.Equal(t, sources[4], list.GetAlerts()[0].GetSourceSequence())
	require.Equal(t, sources[3], list.GetAlerts()[1].GetSourceSequence())
	require.Greater(t, list.GetAlerts()[0].GetSequence(), list.GetAlerts()[1].GetSequence())

	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{TeamIds: []string{"build"}})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 2)
	require.Equal(t, sources[3], list.GetAlerts()[0].GetSourceSequence())

	// since compares with raised_at, the ledger's server time of the crossing
	// (minute h.n of the test day; the third crossing is event 6).
	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{Since: timestamppb.New(time.Date(2026, 3, 2, 9, 6, 0, 0, time.UTC))})
	require.NoError(t, err)
	require.Len(t, list.GetAlerts(), 3)
	list, err = c.ListAlerts(t.Context(), &v1.ListAlertsRequest{Since: timestamppb.New(time.Now().Add(time.Hour))})
	require.NoError(t, err)
	require.Empty(t, list.GetAlerts())
}

func TestRunStopsCleanlyWithAnOpenWatch(t *testing.T) {
	t.Parallel()
	h := startService(t)
	h.crossing("acme", "design")
	stream, cancel := watch(t, h.client(acmeAdmin), &v1.WatchAlertsRequest{FromSequence: 1})
	defer cancel()
	receive(t, stream, 1)
	start := time.Now()
	h.stop()
	require.Less(t, time.Since(start), 5*time.Second, "an open watch must not hold up the stop")
	_, err := stream.Recv()
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "resume from sequence 2", "after the alert it sent")
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := alerting.Config{LowBalancePercent: 100, StreamScan: time.Millisecond}
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{"-listen", "-nats-url", "-api-keys", "log-level", "low-balance-percent", "-user-hash-key", "stream-scan"} {
		require.ErrorContains(t, err, want)
	}
}
