package server

import (
	"context"
	"slices"
	"strconv"
	"time"

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
	return l.readPoolPage(ctx, team, nil, func(pl *pool.Pool, _ grpcserver.Page) { fn(pl) })
}

// pagedRequest is a List request's paging fields.
type pagedRequest interface {
	GetPageSize() int32
	GetPageToken() string
}

// readPoolPage reads a team's pool for one page of a list named by query
// (req nil: no paging).
func (l *Ledger) readPoolPage(ctx context.Context, team string, req pagedRequest, fn func(*pool.Pool, grpcserver.Page), query ...string) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	var bad grpcserver.Violations
	bad.Check("team_id", eventlog.CheckID("team_id", team))
	var pg grpcserver.Page
	if req != nil {
		pg = grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), append(query, p.Org, team)...)
	}
	if err := bad.Err(); err != nil {
		return err
	}
	if err := p.CheckTeam(team); err != nil {
		return statusOf(err)
	}
	return statusOf(l.Store.Read(ctx, p.Org, team, func(pl *pool.Pool) { fn(pl, pg) }))
}

// GetBalance returns a team's balance and packs.
func (l *Ledger) GetBalance(ctx context.Context, req *v1.GetBalanceRequest) (*v1.GetBalanceResponse, error) {
	resp := &v1.GetBalanceResponse{}
	now := l.Now()
	err := l.readPool(ctx, req.GetTeamId(), func(pl *pool.Pool) { resp.Balance = balanceOf(req.GetTeamId(), pl, now) })
	return resp, err
}

// ListPacks lists a team's packs in burn-down order, a page at a time. The
// token holds the last pack id: packs are never removed and their order
// never changes, so the next page starts right after it.
func (l *Ledger) ListPacks(ctx context.Context, req *v1.ListPacksRequest) (*v1.ListPacksResponse, error) {
	resp := &v1.ListPacksResponse{}
	now := l.Now()
	lost := false
	err := l.readPoolPage(ctx, req.GetTeamId(), req, func(pl *pool.Pool, pg grpcserver.Page) {
		packs := pl.Packs()
		if id := pg.After; id != "" {
			i := slices.IndexFunc(packs, func(pk *pool.Pack) bool { return pk.ID == id })
			lost = i < 0
			packs = packs[i+1:]
		}
		for _, pk := range packs {
			if !req.GetIncludeExpired() && !pk.LiveAt(now) {
				continue
			}
			if len(resp.Packs) == pg.Size {
				resp.NextPageToken = pg.Next(resp.Packs[len(resp.Packs)-1].GetPackId())
				break
			}
			resp.Packs = append(resp.Packs, packOf(pk, now))
		}
	}, "packs", strconv.FormatBool(req.GetIncludeExpired()))
	if err == nil && lost {
		var bad grpcserver.Violations
		bad.Add("page_token", "names a pack this team does not have")
		return nil, bad.Err()
	}
	return resp, err
}
