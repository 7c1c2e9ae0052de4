package ledger_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// badFields asserts err is InvalidArgument with BadRequest field violations
// and returns the fields they name.
func badFields(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, codes.InvalidArgument, st.Code(), "%v", err)
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	require.NotEmpty(t, fields, "InvalidArgument without a field violation: %v", err)
	return fields
}

// ledgerFixture is one replica with acme's design team holding 50 tokens,
// ann assigned, REVIT at 10 a day.
type ledgerFixture struct {
	admin, svc v1.LedgerServiceClient
	acme       context.Context
	js         jetstream.JetStream
}

func newLedgerFixture(t *testing.T) *ledgerFixture {
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	r := startReplica(t, natsURL, "solo")
	f := &ledgerFixture{admin: client(t, r.svc.Addr(), adminKey), svc: client(t, r.svc.Addr(), serviceKey),
		acme: auth.ActingFor(ctx, "acme")}
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	f.js, err = jetstream.New(nc)
	require.NoError(t, err)
	_, err = f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-revit-1", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	_, err = f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-design-1", TeamId: "design", PackId: "p1", Tokens: 50})
	require.NoError(t, err)
	_, err = f.admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-design-ann", TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}})
	require.NoError(t, err)
	return f
}

func (f *ledgerFixture) available(t *testing.T) int64 {
	t.Helper()
	b, err := f.admin.GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: "design"})
	require.NoError(t, err)
	return b.GetBalance().GetAvailable()
}

func (f *ledgerFixture) launch(t *testing.T, id string) *v1.LaunchResponse {
	t.Helper()
	resp, err := f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: id, TeamId: "design", UserId: "ann", ProductCode: "REVIT"}})
	require.NoError(t, err)
	return resp.GetResult()
}

// Issue 13 defect 1: a pack of 9223372036854775797 tokens on a pool holding
// 50 was accepted and the balance wrapped negative; a removal of as many
// wrapped it back. Both are refused naming tokens, and the pool still charges.
func TestHugeNumbersAreRefused(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	ctx := t.Context()
	_, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-huge-0001", TeamId: "design", PackId: "huge", Tokens: 9223372036854775797})
	require.Equal(t, []string{"tokens"}, badFields(t, err))
	_, err = f.admin.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: "remove-huge-0001", TeamId: "design",
		Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 9223372036854774907, Reason: "wrap"})
	require.Equal(t, []string{"tokens"}, badFields(t, err))
	require.EqualValues(t, 50, f.available(t))
	res := f.launch(t, "launch-after-huge")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, res.GetDecision())
	require.EqualValues(t, 40, res.GetBalanceAfter())

	for _, c := range []struct {
		field string
		call  func() error
	}{
		{"daily_rate", func() error {
			_, err := f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-huge-0001", ProductCode: "ACAD", DailyRate: math.MaxInt64})
			return err
		}},
		{"unit_price_micros", func() error {
			_, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-price-0001", TeamId: "design", PackId: "pricey", Tokens: 10, UnitPriceMicros: math.MaxInt64})
			return err
		}},
		{"budget.limit_tokens", func() error {
			_, err := f.admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "budget-huge-0001", TeamId: "design", Budget: &v1.Budget{BudgetId: "b1",
				Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: math.MaxInt64, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}})
			return err
		}},
		{"units", func() error {
			_, err := f.admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: "capacity-huge-0001", TeamId: "design", ProductCode: "SEATS",
				Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: math.MaxInt64})
			return err
		}},
		{"tokens", func() error {
			_, err := f.admin.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: "move-huge-0001", TeamId: "design",
				Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: math.MinInt64, Reason: "r", CounterpartyTeamId: "civil"})
			return err
		}},
	} {
		require.Equal(t, []string{c.field}, badFields(t, c.call()), c.field)
	}
}

// An event appended to the log by hand, past every check, cannot make the
// balance negative: the fold refuses it and the pool goes on.
func TestFoldRefusesHandAppendedOverflow(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	now := time.Now()
	ev := &v1.Event{EventId: "by-hand-0001", OrgId: "acme", TeamId: "design", ServerTime: timestamppb.New(now),
		Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "by-hand", Tokens: 9223372036854775797,
			PurchasedAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.AddDate(1, 0, 0))}}}
	_, err := eventlog.Append(t.Context(), f.js, eventlog.LedgerSubject("acme", "design"), ev, nil)
	require.NoError(t, err)
	require.EqualValues(t, 50, f.available(t))
	res := f.launch(t, "launch-after-hand")
	require.Equal(t, v1.Decision_DECISION_AUTHORIZED, res.GetDecision())
	require.EqualValues(t, 40, res.GetBalanceAfter())
}

// Issue 13 defect 7: errors that named no field.
func TestInvalidArgumentNamesTheField(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	ctx := t.Context()
	_, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-past-0001", TeamId: "design", PackId: "past", Tokens: 10,
		ExpiresAt: timestamppb.New(time.Now().Add(-time.Hour))})
	require.Equal(t, []string{"expires_at"}, badFields(t, err))
	_, err = f.admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-none-0001", TeamId: "design", UserId: "bob"})
	require.Equal(t, []string{"product_codes"}, badFields(t, err))
	_, err = f.admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-self-0001", FromTeamId: "design", IntoTeamId: "design"})
	require.Equal(t, []string{"into_team_id"}, badFields(t, err))
}

// Issue 13 defect 8: every call that changes the ledger needs an event id.
func TestMutatingCallsRequireEventID(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	ctx := t.Context()
	budget := &v1.Budget{BudgetId: "b1", Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 5, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}
	for _, id := range []string{"", "x"} {
		calls := map[string]func() error{
			"AddPack": func() error {
				_, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: id, TeamId: "design", PackId: "p2", Tokens: 5})
				return err
			},
			"AdjustBalance": func() error {
				_, err := f.admin.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: id, TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 1, Reason: "r"})
				return err
			},
			"SetProductRate": func() error {
				_, err := f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: id, ProductCode: "ACAD", DailyRate: 3})
				return err
			},
			"AssignUser": func() error {
				_, err := f.admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: id, TeamId: "design", UserId: "bob", ProductCodes: []string{"*"}})
				return err
			},
			"UnassignUser": func() error {
				_, err := f.admin.UnassignUser(ctx, &v1.UnassignUserRequest{EventId: id, TeamId: "design", UserId: "ann"})
				return err
			},
			"SetBudget": func() error {
				_, err := f.admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: id, TeamId: "design", Budget: budget})
				return err
			},
			"SetCapacity": func() error {
				_, err := f.admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: id, TeamId: "design", ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 3})
				return err
			},
			"UseCapacity": func() error {
				_, err := f.admin.UseCapacity(f.acme, &v1.UseCapacityRequest{EventId: id, TeamId: "design", ProductCode: "SEATS", Units: 1, UserId: "ann"})
				return err
			},
			"ReturnCapacity": func() error {
				_, err := f.admin.ReturnCapacity(f.acme, &v1.ReturnCapacityRequest{EventId: id, TeamId: "design", ProductCode: "SEATS", CheckoutId: "checkout-0001"})
				return err
			},
			"MergeTeams": func() error {
				_, err := f.admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: id, FromTeamId: "design", IntoTeamId: "civil"})
				return err
			},
		}
		for name, call := range calls {
			require.Equal(t, []string{"event_id"}, badFields(t, call()), "%s with event_id %q", name, id)
		}
	}
	require.EqualValues(t, 50, f.available(t), "nothing was applied")
}

// eventsWithID counts the events of a subject carrying id.
func (f *ledgerFixture) eventsWithID(t *testing.T, subject, id string) int {
	t.Helper()
	n := 0
	_, err := eventlog.ReadSubject(t.Context(), f.js, eventlog.LedgerStream, subject, 0, func(st eventlog.Stored) error {
		if st.Event.GetEventId() == id {
			n++
		}
		return nil
	})
	require.NoError(t, err)
	return n
}

// Issue 13 defect 8: a retried call, same event id, answers as the first
// did and applies nothing twice, for every call that changes the ledger.
func TestRetriesApplyOnce(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	ctx := t.Context()
	design := eventlog.LedgerSubject("acme", "design")
	twice := func(name, subject, id string, call func() error) {
		t.Helper()
		for i := range 2 {
			require.NoError(t, call(), "%s, call %d", name, i+1)
		}
		require.Equal(t, 1, f.eventsWithID(t, subject, id), "%s applied once", name)
	}
	twice("SetProductRate", eventlog.CatalogSubject("acme"), "rate-acad-0001", func() error {
		_, err := f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-acad-0001", ProductCode: "ACAD", DailyRate: 3})
		return err
	})
	twice("AssignUser", design, "assign-bob-0001", func() error {
		_, err := f.admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: "assign-bob-0001", TeamId: "design", UserId: "bob", ProductCodes: []string{"ACAD"}})
		return err
	})
	twice("UnassignUser", design, "unassign-bob-0001", func() error {
		_, err := f.admin.UnassignUser(ctx, &v1.UnassignUserRequest{EventId: "unassign-bob-0001", TeamId: "design", UserId: "bob"})
		return err
	})
	twice("SetBudget", design, "budget-ann-0001", func() error {
		_, err := f.admin.SetBudget(ctx, &v1.SetBudgetRequest{EventId: "budget-ann-0001", TeamId: "design", Budget: &v1.Budget{BudgetId: "ann-day",
			Scope: v1.BudgetScope_BUDGET_SCOPE_USER, Key: "ann", LimitTokens: 500, Period: v1.BudgetPeriod_BUDGET_PERIOD_DAY}})
		return err
	})
	twice("AddPack", design, "pack-design-2", func() error {
		resp, err := f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-design-2", TeamId: "design", PackId: "p2", Tokens: 30})
		if err == nil {
			require.EqualValues(t, 80, resp.GetBalance().GetAvailable())
		}
		return err
	})
	twice("AdjustBalance", design, "remove-design-1", func() error {
		resp, err := f.admin.AdjustBalance(ctx, &v1.AdjustBalanceRequest{EventId: "remove-design-1", TeamId: "design",
			Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 5, Reason: "audit"})
		if err == nil {
			require.EqualValues(t, 75, resp.GetBalance().GetAvailable())
		}
		return err
	})
	twice("SetCapacity", design, "capacity-seats-1", func() error {
		_, err := f.admin.SetCapacity(ctx, &v1.SetCapacityRequest{EventId: "capacity-seats-1", TeamId: "design", ProductCode: "SEATS",
			Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 3})
		return err
	})
	twice("UseCapacity", design, "checkout-0001", func() error {
		resp, err := f.admin.UseCapacity(f.acme, &v1.UseCapacityRequest{EventId: "checkout-0001", TeamId: "design", ProductCode: "SEATS", Units: 2, UserId: "ann"})
		if err == nil {
			require.EqualValues(t, 1, resp.GetCapacity().GetAvailable())
		}
		return err
	})
	twice("ReturnCapacity", design, "return-0001", func() error {
		resp, err := f.admin.ReturnCapacity(f.acme, &v1.ReturnCapacityRequest{EventId: "return-0001", TeamId: "design", ProductCode: "SEATS", CheckoutId: "checkout-0001"})
		if err == nil {
			require.EqualValues(t, 3, resp.GetCapacity().GetAvailable())
		}
		return err
	})
	// An id already used for something else is refused, not taken as a retry.
	_, err := f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-acad-0001", ProductCode: "REVIT", DailyRate: 99})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "%v", err)
	_, err = f.admin.UseCapacity(f.acme, &v1.UseCapacityRequest{EventId: "checkout-0001", TeamId: "design", ProductCode: "SEATS", Units: 1, UserId: "bob"})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "%v", err)
	_, err = f.admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "assign-bob-0001", ProductCode: "MAYA", DailyRate: 4})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "an id the log holds for a pool event: %v", err)
	_, err = f.admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-design-2", TeamId: "civil", PackId: "c1", Tokens: 5})
	require.Equal(t, codes.AlreadyExists, status.Code(err), "an id the log holds for another team's event: %v", err)
	twice("MergeTeams", design, "merge-design-1", func() error {
		resp, err := f.admin.MergeTeams(ctx, &v1.MergeTeamsRequest{EventId: "merge-design-1", FromTeamId: "design", IntoTeamId: "civil", Reason: "reorg"})
		if err == nil {
			require.EqualValues(t, 75, resp.GetInto().GetAvailable())
		}
		return err
	})
}

// Issue 13 defect 9: the ledger applies ingestion's launch rules again.
func TestLedgerAppliesLaunchRules(t *testing.T) {
	t.Parallel()
	f := newLedgerFixture(t)
	formula := "=HYPERLINK(\"http://x\")"
	_, err := f.admin.UseCapacity(f.acme, &v1.UseCapacityRequest{EventId: "x", TeamId: "design", ProductCode: "SEATS", Units: 1, UserId: formula})
	require.ElementsMatch(t, []string{"event_id", "user_id"}, badFields(t, err))
	_, err = f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "x", TeamId: "design", UserId: "=alice", ProductCode: "REVIT"}})
	require.ElementsMatch(t, []string{"launch.event_id", "launch.user_id"}, badFields(t, err))
	_, err = f.svc.Authorize(f.acme, &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-0001", TeamId: "design", UserId: "ann",
		ProductCode: "REVIT", DeviceId: "laptop\x00", ProductVersion: strings.Repeat("9", 65)}})
	require.ElementsMatch(t, []string{"launch.device_id", "launch.product_version"}, badFields(t, err))
	_, err = f.svc.QuoteLaunch(f.acme, &v1.QuoteLaunchRequest{Quote: &v1.QuoteRequest{TeamId: "design", UserId: formula, ProductCode: "REVIT"}})
	require.Equal(t, []string{"quote.user_id"}, badFields(t, err))
	_, err = f.svc.RecordHeartbeat(f.acme, &v1.RecordHeartbeatRequest{Heartbeat: &v1.HeartbeatRequest{EventId: "hb", TeamId: "design",
		UserId: "ann", ProductCode: "REVIT", WindowId: strings.Repeat("w", 300)}})
	require.ElementsMatch(t, []string{"heartbeat.event_id", "heartbeat.window_id"}, badFields(t, err))
	batch, err := f.svc.AuthorizeBatch(f.acme, &v1.AuthorizeBatchRequest{Launches: []*v1.AuthorizeRequest{
		{Launch: &v1.LaunchRequest{EventId: "launch-0002", TeamId: "design", UserId: "ann", ProductCode: "REVIT"}},
		{Launch: &v1.LaunchRequest{EventId: "launch-0003", TeamId: "design", UserId: formula, ProductCode: "REVIT"}},
	}})
	require.NoError(t, err)
	require.EqualValues(t, codes.OK, batch.GetOutcomes()[0].GetErrorCode())
	require.EqualValues(t, codes.InvalidArgument, batch.GetOutcomes()[1].GetErrorCode(), fmt.Sprint(batch.GetOutcomes()[1]))
	require.EqualValues(t, 40, f.available(t), "one launch charged")
}
