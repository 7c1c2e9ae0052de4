package server

import (
	"errors"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/launchrules"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// The request validators: each returns nil or an InvalidArgument status
// with a BadRequest field violation per bad field. Ids follow eventlog's
// rules and client-made event ids launchrules'; the numbers' limits and the
// domain's rules are the pool core's (pool/limits.go), called from here.

// addFieldErrors adds the pool's FieldErrors in err (joined or not) to bad.
func addFieldErrors(bad *grpcserver.Violations, err error) {
	var fe *pool.FieldError
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			addFieldErrors(bad, e)
		}
	} else if errors.As(err, &fe) {
		bad.Add(fe.Field, "%s", fe.Msg)
	} else if err != nil {
		bad.Add("request", "%s", err.Error())
	}
}

func checkTime(bad *grpcserver.Violations, field string, ts *timestamppb.Timestamp, now time.Time) {
	if ts == nil {
		return
	}
	if err := ts.CheckValid(); err != nil {
		bad.Add(field, "is not a valid time")
		return
	}
	addFieldErrors(bad, pool.CheckTime(field, ts.AsTime(), now))
}

func addPackCommand(req *v1.AddPackRequest, now time.Time) pool.AddPack {
	return pool.AddPack{
		EventID: req.GetEventId(), PackID: req.GetPackId(), Tokens: req.GetTokens(),
		UnitPriceMicros: req.GetUnitPriceMicros(), Currency: req.GetCurrency(),
		PurchasedAt: timeOrZero(req.GetPurchasedAt()), ExpiresAt: timeOrZero(req.GetExpiresAt()),
		ContractEnd: timeOrZero(req.GetContractEnd()), Source: req.GetSource(), Reason: req.GetReason(), At: now,
	}
}

func checkAddPack(req *v1.AddPackRequest, now time.Time) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("pack_id", eventlog.CheckID("pack_id", req.GetPackId()))
	launchrules.CheckText(&bad, "currency", req.GetCurrency(), pool.MaxCurrencyLen)
	launchrules.CheckText(&bad, "reason", req.GetReason(), pool.MaxReasonLen)
	for _, t := range []struct {
		field string
		ts    *timestamppb.Timestamp
	}{{"purchased_at", req.GetPurchasedAt()}, {"expires_at", req.GetExpiresAt()}, {"contract_end", req.GetContractEnd()}} {
		checkTime(&bad, t.field, t.ts, now)
	}
	if len(bad) == 0 {
		addFieldErrors(&bad, addPackCommand(req, now).Check())
	}
	return bad.Err()
}

func checkAdjust(req *v1.AdjustBalanceRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	addFieldErrors(&bad, pool.CheckRange("tokens", req.GetTokens(), 1, pool.MaxPoolTokens))
	if req.GetReason() == "" {
		bad.Add("reason", "is required: say why tokens are taken out")
	}
	launchrules.CheckText(&bad, "reason", req.GetReason(), pool.MaxReasonLen)
	switch req.GetKind() {
	case v1.AdjustmentKind_ADJUSTMENT_KIND_REMOVE, v1.AdjustmentKind_ADJUSTMENT_KIND_REFUND:
	case v1.AdjustmentKind_ADJUSTMENT_KIND_MOVE_OUT:
		bad.Check("counterparty_team_id", eventlog.CheckID("counterparty_team_id", req.GetCounterpartyTeamId()))
		if req.GetCounterpartyTeamId() == req.GetTeamId() {
			bad.Add("counterparty_team_id", "must differ from team_id")
		}
	default:
		bad.Add("kind", "must be ADJUSTMENT_KIND_REMOVE, ADJUSTMENT_KIND_REFUND or ADJUSTMENT_KIND_MOVE_OUT")
	}
	return bad.Err()
}

func checkSetProductRate(req *v1.SetProductRateRequest, now time.Time) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("product_code", eventlog.CheckID("product_code", req.GetProductCode()))
	addFieldErrors(&bad, pool.CheckRange("daily_rate", req.GetDailyRate(), 1, pool.MaxDailyRate))
	launchrules.CheckText(&bad, "name", req.GetName(), pool.MaxNameLen)
	launchrules.CheckText(&bad, "group", req.GetGroup(), pool.MaxNameLen)
	checkTime(&bad, "effective_from", req.GetEffectiveFrom(), now)
	return bad.Err()
}

func checkAssign(req *v1.AssignUserRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	addFieldErrors(&bad, pool.CheckAssign(req.GetProductCodes()))
	for _, c := range req.GetProductCodes() {
		if c != "*" && !eventlog.ValidID(c) {
			bad.Add("product_codes", "each must be \"*\" or a product code (1-64 letters, digits, '-' or '_')")
			break
		}
	}
	return bad.Err()
}

func checkUnassign(req *v1.UnassignUserRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	return bad.Err()
}

func checkSetBudget(req *v1.SetBudgetRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	b := req.GetBudget()
	bad.Check("budget.budget_id", eventlog.CheckID("budget_id", b.GetBudgetId()))
	if len(bad) == 0 {
		addFieldErrors(&bad, pool.CheckBudget(b))
	}
	if !launchrules.Sane(b.GetKey()) {
		bad.Add("budget.key", "must be printable text")
	}
	if !launchrules.Sane(b.GetAttributeKey()) {
		bad.Add("budget.attribute_key", "must be printable text")
	}
	return bad.Err()
}

// checkCapacity checks what the capacity calls share.
func checkCapacity(bad *grpcserver.Violations, eventID, team, product string) {
	launchrules.CheckEventID(bad, "event_id", eventID)
	bad.Check("team_id", eventlog.CheckID("team_id", team))
	bad.Check("product_code", eventlog.CheckID("product_code", product))
}

func checkSetCapacity(req *v1.SetCapacityRequest) error {
	var bad grpcserver.Violations
	checkCapacity(&bad, req.GetEventId(), req.GetTeamId(), req.GetProductCode())
	addFieldErrors(&bad, pool.CheckCapacity(req.GetKind(), req.GetUnits()))
	if ts := req.GetEndsAt(); ts != nil && ts.CheckValid() != nil {
		bad.Add("ends_at", "is not a valid timestamp")
	}
	return bad.Err()
}

func checkUseCapacity(req *v1.UseCapacityRequest) error {
	var bad grpcserver.Violations
	checkCapacity(&bad, req.GetEventId(), req.GetTeamId(), req.GetProductCode())
	bad.Check("user_id", eventlog.CheckID("user_id", req.GetUserId()))
	addFieldErrors(&bad, pool.CheckRange("units", req.GetUnits(), 1, pool.MaxCapacityUnits))
	return bad.Err()
}

func checkReturnCapacity(req *v1.ReturnCapacityRequest) error {
	var bad grpcserver.Violations
	checkCapacity(&bad, req.GetEventId(), req.GetTeamId(), req.GetProductCode())
	// A checkout id is the event id of its UseCapacity, which may predate
	// today's event id rule: only its length and text are held to it.
	if req.GetCheckoutId() == "" {
		bad.Add("checkout_id", "is required: the checkout_id UseCapacity answered")
	}
	launchrules.CheckText(&bad, "checkout_id", req.GetCheckoutId(), launchrules.MaxEventIDLen)
	return bad.Err()
}

func checkMerge(req *v1.MergeTeamsRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckEventID(&bad, "event_id", req.GetEventId())
	bad.Check("from_team_id", eventlog.CheckID("from_team_id", req.GetFromTeamId()))
	bad.Check("into_team_id", eventlog.CheckID("into_team_id", req.GetIntoTeamId()))
	if req.GetFromTeamId() == req.GetIntoTeamId() && req.GetFromTeamId() != "" {
		bad.Add("into_team_id", "must differ from from_team_id")
	}
	launchrules.CheckText(&bad, "reason", req.GetReason(), pool.MaxReasonLen)
	return bad.Err()
}

// checkAuthorize applies ingestion's launch rules again (defence in depth).
func checkAuthorize(req *v1.AuthorizeRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckLaunch(&bad, "launch.", req.GetLaunch())
	if t := req.GetTimeout(); t != nil && (!t.IsValid() || t.AsDuration() < 0) {
		bad.Add("timeout", "must be a duration of at least 0")
	}
	return bad.Err()
}

func checkQuote(req *v1.QuoteLaunchRequest) error {
	q := req.GetQuote()
	var bad grpcserver.Violations
	bad.Check("quote.team_id", eventlog.CheckID("team_id", q.GetTeamId()))
	bad.Check("quote.user_id", eventlog.CheckID("user_id", q.GetUserId()))
	bad.Check("quote.product_code", eventlog.CheckID("product_code", q.GetProductCode()))
	return bad.Err()
}

func checkHeartbeat(req *v1.RecordHeartbeatRequest) error {
	var bad grpcserver.Violations
	launchrules.CheckSession(&bad, "heartbeat.", req.GetHeartbeat())
	return bad.Err()
}
