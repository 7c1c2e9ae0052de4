package server

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

func balanceOf(team string, pl *pool.Pool, now time.Time) *v1.Balance {
	b := pl.BalanceAt(now)
	out := &v1.Balance{
		TeamId: team, Available: b.Available, Purchased: b.Purchased, Used: b.Debited,
		// Packs past expiry whose event is not folded yet count as expired already.
		Expired: b.Purchased - b.Debited - b.Removed - b.Available, Removed: b.Removed, Live: b.Live,
		Suspended: pl.Suspended(),
	}
	if !b.NextExpiry.IsZero() {
		out.NextExpiry = timestamppb.New(b.NextExpiry)
	}
	for _, pk := range pl.Packs() {
		out.Packs = append(out.Packs, packOf(pk, now))
	}
	for _, c := range pl.Capacities(now) {
		out.Capacities = append(out.Capacities, capacityOf(c))
	}
	return out
}

func packOf(pk *pool.Pack, now time.Time) *v1.Pack {
	remaining := pk.Remaining
	if !pk.LiveAt(now) {
		remaining = 0
	}
	return &v1.Pack{
		PackId: pk.ID, Tokens: pk.Tokens, Remaining: remaining, UnitPriceMicros: pk.UnitPriceMicros,
		Currency: pk.Currency, PurchasedAt: timestamppb.New(pk.PurchasedAt), ExpiresAt: timestamppb.New(pk.ExpiresAt),
		Source: pk.Source, Expired: !pk.LiveAt(now),
	}
}

func (l *Ledger) readPool(ctx context.Context, team string, fn func(*pool.Pool)) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", team))
	if err := bad.Err(); err != nil {
		return err
	}
	if err := p.CheckTeam(team); err != nil {
		return statusOf(err)
	}
	return statusOf(l.Store.Read(ctx, p.Org, team, fn))
}

// GetBalance returns a team's balance and packs.
func (l *Ledger) GetBalance(ctx context.Context, req *v1.GetBalanceRequest) (*v1.GetBalanceResponse, error) {
	resp := &v1.GetBalanceResponse{}
	now := l.Now()
	err := l.readPool(ctx, req.GetTeamId(), func(pl *pool.Pool) { resp.Balance = balanceOf(req.GetTeamId(), pl, now) })
	return resp, err
}

// ListPacks lists a team's packs in burn-down order.
func (l *Ledger) ListPacks(ctx context.Context, req *v1.ListPacksRequest) (*v1.ListPacksResponse, error) {
	resp := &v1.ListPacksResponse{}
	now := l.Now()
	err := l.readPool(ctx, req.GetTeamId(), func(pl *pool.Pool) {
		for _, pk := range pl.Packs() {
			if req.GetIncludeExpired() || pk.LiveAt(now) {
				resp.Packs = append(resp.Packs, packOf(pk, now))
			}
		}
	})
	return resp, err
}

// ListTransactions pages through a team's money events, oldest first; the
// page token is the last sequence returned.
func (l *Ledger) ListTransactions(ctx context.Context, req *v1.ListTransactionsRequest) (*v1.ListTransactionsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", req.GetTeamId()))
	after := uint64(0)
	if tok := req.GetPageToken(); tok != "" {
		if after, err = strconv.ParseUint(tok, 10, 64); err != nil {
			bad.Add("page_token", "is not a token this service gave out")
		}
	}
	if req.GetPageSize() < 0 || req.GetPageSize() > 1000 {
		bad.Add("page_size", "must be between 0 and 1000")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	resp := &v1.ListTransactionsResponse{}
	errFull := status.Error(codes.OK, "page full")
	_, err = eventlog.ReadSubject(ctx, l.JS, eventlog.LedgerStream, eventlog.LedgerSubject(p.Org, req.GetTeamId()), after, func(st eventlog.Stored) error {
		if len(resp.Transactions) == size {
			return errFull
		}
		if tx := transactionOf(st); tx != nil {
			resp.Transactions = append(resp.Transactions, tx)
		}
		resp.NextPageToken = strconv.FormatUint(st.Sequence, 10)
		return nil
	})
	if err != nil && err != errFull {
		return nil, statusOf(err)
	}
	if err == nil {
		resp.NextPageToken = ""
	}
	return resp, nil
}

func transactionOf(st eventlog.Stored) *v1.Transaction {
	ev := st.Event
	tx := &v1.Transaction{EventId: ev.GetEventId(), Type: eventlog.TypeOf(ev), At: ev.GetServerTime(),
		Sequence: st.Sequence, Actor: ev.GetActor().GetKind() + ":" + ev.GetActor().GetId()}
	switch pl := ev.GetPayload().(type) {
	case *v1.Event_PackAdded:
		tx.Tokens, tx.PackId, tx.Reason, tx.AvailableAfter = pl.PackAdded.GetTokens(), pl.PackAdded.GetPackId(), pl.PackAdded.GetReason(), pl.PackAdded.GetPool().GetAvailable()
	case *v1.Event_WindowCharged:
		tx.Tokens, tx.UserId, tx.ProductCode, tx.AvailableAfter = -pl.WindowCharged.GetTokens(), pl.WindowCharged.GetUserId(), pl.WindowCharged.GetProductCode(), pl.WindowCharged.GetPool().GetAvailable()
	case *v1.Event_TokensAdjusted:
		tx.Tokens, tx.Reason, tx.AvailableAfter = -pl.TokensAdjusted.GetTokens(), pl.TokensAdjusted.GetReason(), pl.TokensAdjusted.GetPool().GetAvailable()
	case *v1.Event_PackExpired:
		tx.Tokens, tx.PackId, tx.AvailableAfter = -pl.PackExpired.GetTokensLost(), pl.PackExpired.GetPackId(), pl.PackExpired.GetPool().GetAvailable()
	default:
		return nil
	}
	return tx
}
