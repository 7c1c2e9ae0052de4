package server

import (
	"math"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

var fuzzNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fuzzValidator fuzzes a request validator with encoded requests (the seeds
// and what the fuzzer makes of them): every refusal is InvalidArgument with
// a BadRequest violation per bad field, each naming one; an accepted request
// passes within, which asserts its numbers are within the limits.
func fuzzValidator[M proto.Message](f *testing.F, check func(M) error, within func(*testing.T, M), seeds ...M) {
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := seeds[0].ProtoReflect().New().Interface().(M)
		if proto.Unmarshal(data, req) != nil {
			return
		}
		err := check(req)
		if err == nil {
			within(t, req)
			return
		}
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("refused with %s, not InvalidArgument: %v", st.Code(), err)
		}
		n := 0
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					if v.GetField() == "" || v.GetDescription() == "" {
						t.Fatalf("a violation without field or description: %v", v)
					}
					n++
				}
			}
		}
		if n == 0 || len(st.Message()) > 1024 {
			t.Fatalf("%d violations, message of %d bytes: %v", n, len(st.Message()), err)
		}
	})
}

func inRange(t *testing.T, field string, n, lo, hi int64) {
	t.Helper()
	if n < lo || n > hi {
		t.Fatalf("%s %d accepted, outside %d..%d", field, n, lo, hi)
	}
}

func nothing[M any](*testing.T, M) {}

func FuzzCheckAddPack(f *testing.F) {
	fuzzValidator(f, func(r *v1.AddPackRequest) error { return checkAddPack(r, fuzzNow) }, func(t *testing.T, r *v1.AddPackRequest) {
		inRange(t, "tokens", r.GetTokens(), 1, pool.MaxPackTokens)
		inRange(t, "unit_price_micros", r.GetUnitPriceMicros(), 0, pool.MaxUnitPriceMicros)
		if r.GetUnitPriceMicros() > 0 && r.GetTokens() > math.MaxInt64/r.GetUnitPriceMicros() {
			t.Fatalf("a pack worth more than an int64 accepted")
		}
	},
		&v1.AddPackRequest{EventId: "pack-0001-abcd", TeamId: "design", PackId: "p1", Tokens: 100, UnitPriceMicros: 3_000_000, Currency: "USD"},
		&v1.AddPackRequest{EventId: "pack-0002-abcd", TeamId: "design", PackId: "p2", Tokens: 9223372036854775797},
		&v1.AddPackRequest{EventId: "pack-0003-abcd", TeamId: "design", PackId: "p3", Tokens: pool.MaxPackTokens, UnitPriceMicros: pool.MaxUnitPriceMicros},
		&v1.AddPackRequest{EventId: "pack-0004-abcd", TeamId: "design", PackId: "p4", Tokens: math.MinInt64, UnitPriceMicros: math.MinInt64,
			ExpiresAt: &timestamppb.Timestamp{Seconds: math.MaxInt64}, PurchasedAt: timestamppb.New(fuzzNow.Add(-time.Hour))},
		&v1.AddPackRequest{TeamId: "design", PackId: "p5", Tokens: 10, ExpiresAt: timestamppb.New(fuzzNow.Add(-time.Hour))},
	)
}

func FuzzCheckAdjust(f *testing.F) {
	fuzzValidator(f, checkAdjust, func(t *testing.T, r *v1.AdjustBalanceRequest) {
		inRange(t, "tokens", r.GetTokens(), 1, pool.MaxPoolTokens)
	},
		&v1.AdjustBalanceRequest{EventId: "remove-0001", TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 5, Reason: "audit"},
		&v1.AdjustBalanceRequest{EventId: "remove-0002", TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, Tokens: 9223372036854774857, Reason: "wrap"},
		&v1.AdjustBalanceRequest{EventId: "move-0001", TeamId: "design", Kind: v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT, Tokens: math.MinInt64,
			CounterpartyTeamId: "civil", Reason: strings.Repeat("r", 600)},
	)
}

func FuzzCheckSetProductRate(f *testing.F) {
	fuzzValidator(f, func(r *v1.SetProductRateRequest) error { return checkSetProductRate(r, fuzzNow) }, func(t *testing.T, r *v1.SetProductRateRequest) {
		inRange(t, "daily_rate", r.GetDailyRate(), 1, pool.MaxDailyRate)
	},
		&v1.SetProductRateRequest{EventId: "rate-0001", ProductCode: "REVIT", DailyRate: 10, Name: "Revit", Group: "bim"},
		&v1.SetProductRateRequest{EventId: "rate-0002", ProductCode: "REVIT", DailyRate: math.MaxInt64, EffectiveFrom: &timestamppb.Timestamp{Seconds: math.MinInt64}},
	)
}

func FuzzCheckAssign(f *testing.F) {
	fuzzValidator(f, checkAssign, func(t *testing.T, r *v1.AssignUserRequest) {
		inRange(t, "product_codes", int64(len(r.GetProductCodes())), 1, pool.MaxProductsPerUser)
	},
		&v1.AssignUserRequest{EventId: "assign-0001", TeamId: "design", UserId: "ann", ProductCodes: []string{"*"}},
		&v1.AssignUserRequest{EventId: "assign-0002", TeamId: "design", UserId: "=ann", ProductCodes: []string{"REVIT", "a.b"}},
		&v1.AssignUserRequest{EventId: "assign-0003", TeamId: "design", UserId: "ann"},
	)
}

func FuzzCheckUnassign(f *testing.F) {
	fuzzValidator(f, checkUnassign, nothing[*v1.UnassignUserRequest],
		&v1.UnassignUserRequest{EventId: "unassign-0001", TeamId: "design", UserId: "ann"},
		&v1.UnassignUserRequest{TeamId: "design.*", UserId: ""},
	)
}

func FuzzCheckSetBudget(f *testing.F) {
	fuzzValidator(f, checkSetBudget, func(t *testing.T, r *v1.SetBudgetRequest) {
		if !r.GetBudget().GetDeleted() {
			inRange(t, "budget.limit_tokens", r.GetBudget().GetLimitTokens(), 1, pool.MaxBudgetTokens)
		}
	},
		&v1.SetBudgetRequest{EventId: "budget-0001", TeamId: "design", Budget: &v1.Budget{BudgetId: "b1", Scope: v1.BudgetScope_BUDGET_SCOPE_USER,
			Key: "ann", LimitTokens: 100, Period: v1.BudgetPeriod_BUDGET_PERIOD_MONTH, Hard: true}},
		&v1.SetBudgetRequest{EventId: "budget-0002", TeamId: "design", Budget: &v1.Budget{BudgetId: "b2", Scope: v1.BudgetScope(99),
			Key: "ann", LimitTokens: math.MaxInt64, Period: v1.BudgetPeriod(-1)}},
		&v1.SetBudgetRequest{EventId: "budget-0003", TeamId: "design", Budget: &v1.Budget{BudgetId: "b3", Deleted: true}},
	)
}

func FuzzCheckSetCapacity(f *testing.F) {
	fuzzValidator(f, checkSetCapacity, func(t *testing.T, r *v1.SetCapacityRequest) {
		inRange(t, "units", r.GetUnits(), 0, pool.MaxCapacityUnits)
	},
		&v1.SetCapacityRequest{EventId: "capacity-0001", TeamId: "design", ProductCode: "SEATS", Kind: v1.CapacityKind_CAPACITY_KIND_RETURNABLE, Units: 5},
		&v1.SetCapacityRequest{EventId: "capacity-0002", TeamId: "design", ProductCode: "API", Kind: v1.CapacityKind(7), Units: math.MaxInt64},
	)
}

func FuzzCheckUseCapacity(f *testing.F) {
	fuzzValidator(f, checkUseCapacity, func(t *testing.T, r *v1.UseCapacityRequest) {
		inRange(t, "units", r.GetUnits(), 1, pool.MaxCapacityUnits)
	},
		&v1.UseCapacityRequest{EventId: "checkout-0001", TeamId: "design", ProductCode: "SEATS", Units: 1, UserId: "ann"},
		&v1.UseCapacityRequest{EventId: "x", TeamId: "design", ProductCode: "SEATS", Units: math.MinInt64, UserId: "=HYPERLINK(\"x\")"},
	)
}

func FuzzCheckReturnCapacity(f *testing.F) {
	fuzzValidator(f, checkReturnCapacity, nothing[*v1.ReturnCapacityRequest],
		&v1.ReturnCapacityRequest{EventId: "return-0001", TeamId: "design", ProductCode: "SEATS", CheckoutId: "checkout-0001"},
		&v1.ReturnCapacityRequest{EventId: "return-0002", TeamId: "design", ProductCode: "SEATS"},
	)
}

func FuzzCheckMerge(f *testing.F) {
	fuzzValidator(f, checkMerge, nothing[*v1.MergeTeamsRequest],
		&v1.MergeTeamsRequest{EventId: "merge-0001", FromTeamId: "design", IntoTeamId: "civil", Reason: "reorg"},
		&v1.MergeTeamsRequest{EventId: "merge-0002", FromTeamId: "design", IntoTeamId: "design"},
	)
}

func FuzzCheckAuthorize(f *testing.F) {
	fuzzValidator(f, checkAuthorize, nothing[*v1.AuthorizeRequest],
		&v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "launch-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT",
			DeviceId: "laptop", ProductVersion: "2026", Attributes: map[string]string{"project": "P-102"}}},
		&v1.AuthorizeRequest{Launch: &v1.LaunchRequest{EventId: "x", TeamId: "design", UserId: "=alice", ProductCode: "REVIT",
			Attributes: map[string]string{"=cmd": "@SUM(1+1)"}}},
	)
}

func FuzzCheckQuote(f *testing.F) {
	fuzzValidator(f, checkQuote, nothing[*v1.QuoteLaunchRequest],
		&v1.QuoteLaunchRequest{Quote: &v1.QuoteRequest{TeamId: "design", UserId: "ann", ProductCode: "REVIT"}},
		&v1.QuoteLaunchRequest{Quote: &v1.QuoteRequest{TeamId: "design", UserId: "=ann", ProductCode: ""}},
	)
}

func FuzzCheckHeartbeat(f *testing.F) {
	fuzzValidator(f, checkHeartbeat, nothing[*v1.RecordHeartbeatRequest],
		&v1.RecordHeartbeatRequest{Heartbeat: &v1.HeartbeatRequest{EventId: "heartbeat-0001", TeamId: "design", UserId: "ann", ProductCode: "REVIT", Active: true}},
		&v1.RecordHeartbeatRequest{Heartbeat: &v1.HeartbeatRequest{EventId: "hb", TeamId: "design", UserId: "ann", ProductCode: "REVIT", DeviceId: "\x00"}},
	)
}
