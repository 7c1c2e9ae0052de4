package server

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// maxHistoryScan bounds the events one ListTransactions call reads: a filter
// that matches little answers a short (even empty) page with a token rather
// than reading a whole long history in one call. A var so a test can lower it.
var maxHistoryScan = 10_000

// ListTransactions pages through a pool's history, oldest first: every
// event of the team's subject and the organisation's rate changes, merged
// in log order (an empty team_id: the rate changes alone), filtered by type
// and time. The token holds the stream sequence to go on after. A pool in
// another partition stream than its catalog: see mergedHistory.
func (l *Ledger) ListTransactions(ctx context.Context, req *v1.ListTransactionsRequest) (*v1.ListTransactionsResponse, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var bad grpcserver.Violations
	team := req.GetTeamId()
	if team != "" {
		bad.Check("team_id", eventlog.CheckID("team_id", team))
	}
	f := historyFilterOf(&bad, req)
	pg := grpcserver.PageOf(&bad, "page_size", req.GetPageSize(), req.GetPageToken(), "transactions", p.Org, team, f.key())
	if err := bad.Err(); err != nil {
		return nil, err
	}
	if team != "" {
		if err := p.CheckTeam(team); err != nil {
			return nil, statusOf(err)
		}
	}
	h, err := l.historyOf(ctx, p.Org, team)
	if err != nil {
		return nil, statusOf(eventlog.Unavailable(ctx, err))
	}
	if h.pool != nil {
		return l.mergedHistory(ctx, p.Org, h, f, pg)
	}
	after, err := afterSequence(pg)
	if err != nil {
		return nil, grpcserver.Invalid("page_token", "%v", err)
	}
	resp := &v1.ListTransactionsResponse{}
	errStop := errors.New("page done")
	shown := l.Privacy.For(p.Org)
	scanned, last := 0, after
	_, err = eventlog.ReadSubjects(ctx, h.cat.stream, h.subjects, after, func(st eventlog.Stored) error {
		if tx, ok := pool.Transaction(shown.Mask(st.Event)); ok && f.match(tx) {
			if len(resp.Transactions) == pg.Size {
				return errStop // a next page exists: it starts here
			}
			tx.Sequence = st.Sequence
			resp.Transactions = append(resp.Transactions, tx)
		}
		last, scanned = st.Sequence, scanned+1
		if scanned == maxHistoryScan {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		resp.NextPageToken = pg.Next(strconv.FormatUint(last, 10))
	} else if err != nil {
		return nil, statusOf(eventlog.Unavailable(ctx, err))
	}
	return resp, nil
}

// historyFilter is a ListTransactions request's types and time range.
type historyFilter struct {
	types    []string // sorted; empty: every type
	from, to time.Time
}

func historyFilterOf(bad *grpcserver.Violations, req *v1.ListTransactionsRequest) historyFilter {
	var f historyFilter
	if n := len(req.GetTypes()); n > len(pool.HistoryTypes) {
		bad.Add("types", "at most %d types (every type once), got %d", len(pool.HistoryTypes), n)
	}
	for i, t := range req.GetTypes() {
		if i < len(pool.HistoryTypes) && !pool.IsHistoryType(t) {
			bad.Add("types["+strconv.Itoa(i)+"]", "%s is not a transaction type; the types are %s", quote.Prefix(t), strings.Join(pool.HistoryTypes, ", "))
		}
	}
	f.types = slices.Compact(slices.Sorted(slices.Values(req.GetTypes())))
	if req.GetFrom() != nil {
		bad.Check("from", req.GetFrom().CheckValid())
		f.from = req.GetFrom().AsTime()
	}
	if req.GetTo() != nil {
		bad.Check("to", req.GetTo().CheckValid())
		f.to = req.GetTo().AsTime()
		if req.GetFrom() != nil && !f.to.After(f.from) {
			bad.Add("to", "must be after from")
		}
	}
	return f
}

// key says what the filter selects, for the page token's query.
func (f historyFilter) key() string {
	return strings.Join(f.types, ",") + "|" + timeKey(f.from) + "|" + timeKey(f.to)
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func (f historyFilter) match(tx *v1.Transaction) bool {
	if len(f.types) > 0 && !slices.Contains(f.types, tx.GetType()) {
		return false
	}
	at := tx.GetAt().AsTime()
	return (f.from.IsZero() || !at.Before(f.from)) && (f.to.IsZero() || at.Before(f.to))
}

// afterSequence is the stream sequence a transactions page token continues
// after (0 on the first page).
func afterSequence(pg grpcserver.Page) (uint64, error) {
	if pg.After == "" {
		return 0, nil
	}
	seq, err := strconv.ParseUint(pg.After, 10, 64)
	if err != nil {
		return 0, errors.New("is not a token this list gave out")
	}
	return seq, nil
}
