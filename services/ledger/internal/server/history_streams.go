package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

// placedSubject is a subject with the LEDGER stream holding it.
type placedSubject struct {
	subject string
	stream  jetstream.Stream
}

// history is where a pool's history is: the catalog subject, with the
// pool's in the same stream (subjects) or in another (pool, merged by time).
type history struct {
	cat      placedSubject
	subjects []string
	pool     *placedSubject
}

// historyOf places the organisation's catalog and, for a team, its pool.
func (l *Ledger) historyOf(ctx context.Context, org, team string) (history, error) {
	placed := func(team string) (placedSubject, error) {
		subj, name, err := l.Store.Place(ctx, org, team, false)
		if err != nil {
			return placedSubject{}, err
		}
		stream, err := l.JS.Stream(ctx, name)
		return placedSubject{subj, stream}, err
	}
	cat, err := placed(eventlog.CatalogToken)
	if err != nil || team == "" {
		return history{cat: cat, subjects: []string{cat.subject}}, err
	}
	p, err := placed(team)
	if err != nil {
		return history{}, err
	}
	if p.stream.CachedInfo().Config.Name == cat.stream.CachedInfo().Config.Name {
		return history{cat: cat, subjects: []string{cat.subject, p.subject}}, nil
	}
	return history{cat: cat, pool: &p}, nil
}

// mergedHistory pages through a pool's history whose catalog is in another
// LEDGER stream: both read on from the token's two sequences (pool's, then
// catalog's) and merged by server time, each transaction with the sequence
// of its own stream. A side read only in part stops the page where its
// events run out, so nothing is passed over.
func (l *Ledger) mergedHistory(ctx context.Context, org string, h history, f historyFilter, pg grpcserver.Page) (*v1.ListTransactionsResponse, error) {
	after, err := afterSequences(pg)
	if err != nil {
		return nil, grpcserver.Invalid("page_token", "%v", err)
	}
	poolEvents, poolAll, err := readSome(ctx, *h.pool, after[0], maxHistoryScan/2)
	if err != nil {
		return nil, statusOf(eventlog.Unavailable(ctx, err))
	}
	catEvents, catAll, err := readSome(ctx, h.cat, after[1], maxHistoryScan/2)
	if err != nil {
		return nil, statusOf(eventlog.Unavailable(ctx, err))
	}
	resp := &v1.ListTransactionsResponse{}
	shown := l.Privacy.For(org)
	for {
		var st eventlog.Stored
		side := 0
		switch {
		case len(poolEvents) > 0 && len(catEvents) > 0:
			if catEvents[0].Event.GetServerTime().AsTime().Before(poolEvents[0].Event.GetServerTime().AsTime()) {
				side = 1
			}
		case len(poolEvents) > 0 && catAll:
		case len(catEvents) > 0 && poolAll:
			side = 1
		default:
			if !poolAll || !catAll {
				resp.NextPageToken = pg.Next(sequencesToken(after))
			}
			return resp, nil
		}
		if side == 0 {
			st, poolEvents = poolEvents[0], poolEvents[1:]
		} else {
			st, catEvents = catEvents[0], catEvents[1:]
		}
		if tx, ok := pool.Transaction(shown.Mask(st.Event)); ok && f.match(tx) {
			if len(resp.Transactions) == pg.Size {
				resp.NextPageToken = pg.Next(sequencesToken(after)) // a next page starts here
				return resp, nil
			}
			tx.Sequence = st.Sequence
			resp.Transactions = append(resp.Transactions, tx)
		}
		after[side] = st.Sequence
	}
}

// readSome reads at most limit events of s after after; all is true when
// none is left.
func readSome(ctx context.Context, s placedSubject, after uint64, limit int) (events []eventlog.Stored, all bool, err error) {
	errStop := errors.New("read enough")
	_, err = eventlog.ReadStream(ctx, s.stream, s.subject, after, func(st eventlog.Stored) error {
		if len(events) == limit {
			return errStop
		}
		events = append(events, st)
		return nil
	})
	if errors.Is(err, errStop) {
		return events, false, nil
	}
	return events, err == nil, err
}

// afterSequences is the pool's and the catalog's stream sequences a merged
// page token continues after (0, 0 on the first page).
func afterSequences(pg grpcserver.Page) ([2]uint64, error) {
	var after [2]uint64
	if pg.After == "" {
		return after, nil
	}
	a, b, ok := strings.Cut(pg.After, ".")
	var errA, errB error
	after[0], errA = strconv.ParseUint(a, 10, 64)
	after[1], errB = strconv.ParseUint(b, 10, 64)
	if !ok || errA != nil || errB != nil {
		return after, errors.New("is not a token this list gave out")
	}
	return after, nil
}

func sequencesToken(after [2]uint64) string { return fmt.Sprintf("%d.%d", after[0], after[1]) }
