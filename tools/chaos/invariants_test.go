package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/tools/devstack"
)

// decided is a launch decision the ledger recorded.
type decided struct {
	kind   string // window_charged, launch_covered or launch_denied
	tokens int64
	seq    uint64
}

// teamTotals are a team's charges: their count and tokens.
type teamTotals struct {
	Charges int64
	Tokens  int64
}

// ledgerLog is what the LEDGER stream holds, read as the reader identity.
type ledgerLog struct {
	decisions map[string][]decided // by event id
	charges   map[string]teamTotals
	packs     map[string]int64 // tokens added, by team
	negative  []string         // events that left a pool below zero
	last      uint64           // the LEDGER streams' last sequences, summed
}

// readLedger reads every LEDGER stream there is: the one-stream layout's
// and each partition's.
func readLedger(t *testing.T, s *stack) *ledgerLog {
	t.Helper()
	nc := s.connect("reader")
	defer nc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	l := &ledgerLog{decisions: map[string][]decided{}, charges: map[string]teamTotals{}, packs: map[string]int64{}}
	streams := s.existing(ctx, s.jetStream(nc), subject.LedgerStreamOf)
	require.NotEmpty(t, streams, "no LEDGER stream")
	for _, stream := range streams {
		last, err := eventlog.ReadStream(ctx, stream, "ledger.>", 0, func(st eventlog.Stored) error {
			l.add(st)
			return nil
		})
		require.NoError(t, err)
		l.last += last
	}
	return l
}

// existing are the streams of one kind (LEDGER, USAGE: named by nameOf
// from a partition) that exist: the one-stream layout's and each of
// cfg.partitions'.
func (s *stack) existing(ctx context.Context, js jetstream.JetStream, nameOf func(int) string) []jetstream.Stream {
	var out []jetstream.Stream
	for p := subject.Unpartitioned; p < s.cfg.partitions; p++ {
		stream, err := js.Stream(ctx, nameOf(p))
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		require.NoError(s.t, err, "stream %s", nameOf(p))
		out = append(out, stream)
	}
	return out
}

func (l *ledgerLog) add(st eventlog.Stored) {
	ev, team := st.Event, st.Event.GetTeamId()
	var pool *v1.PoolFigures
	switch p := ev.GetPayload().(type) {
	case *v1.Event_WindowCharged:
		l.decisions[ev.GetEventId()] = append(l.decisions[ev.GetEventId()], decided{"window_charged", p.WindowCharged.GetTokens(), st.Sequence})
		c := l.charges[team]
		c.Charges, c.Tokens = c.Charges+1, c.Tokens+p.WindowCharged.GetTokens()
		l.charges[team], pool = c, p.WindowCharged.GetPool()
	case *v1.Event_LaunchCovered:
		l.decisions[ev.GetEventId()] = append(l.decisions[ev.GetEventId()], decided{"launch_covered", 0, st.Sequence})
	case *v1.Event_LaunchDenied:
		l.decisions[ev.GetEventId()] = append(l.decisions[ev.GetEventId()], decided{"launch_denied", 0, st.Sequence})
		pool = p.LaunchDenied.GetPool()
	case *v1.Event_PackAdded:
		l.packs[team] += p.PackAdded.GetTokens()
	}
	if pool != nil && pool.GetAvailable() < 0 {
		l.negative = append(l.negative, fmt.Sprintf("%s at %d: available %d", ev.GetEventId(), st.Sequence, pool.GetAvailable()))
	}
}

// ledgerFaults are the answers LEDGER contradicts and the events that break
// its invariants.
type ledgerFaults struct {
	missing, wrong []string // answers with no decision, or another one
	twice          map[string][]decided
	negative       []string
}

// faults compares the answers with LEDGER: every authorized answer has its
// decision (and its tokens) there, every refusal its denial and no charge;
// no event id is decided twice; no pool goes below zero.
func (l *ledgerLog) faults(answers []attempt) ledgerFaults {
	f := ledgerFaults{twice: map[string][]decided{}, negative: l.negative}
	for _, a := range answers {
		if a.code != codes.OK {
			continue
		}
		got := l.decisions[a.id]
		want := "launch_denied"
		if a.decision == v1.Decision_DECISION_AUTHORIZED {
			want = "launch_covered"
			if a.tokens > 0 {
				want = "window_charged"
			}
		}
		switch {
		case len(got) == 0:
			f.missing = append(f.missing, a.id)
		case got[0].kind != want || got[0].tokens != a.tokens:
			f.wrong = append(f.wrong, fmt.Sprintf("%s: answered %s (%d tokens), logged %s (%d)", a.id, want, a.tokens, got[0].kind, got[0].tokens))
		}
	}
	for id, d := range l.decisions {
		if len(d) > 1 {
			f.twice[id] = d
		}
	}
	return f
}

// checkLedger requires no fault, and each team's balance at the ledger to
// be at least zero and its packs less its charges in LEDGER.
func checkLedger(t *testing.T, s *stack, answers []attempt, l *ledgerLog) {
	t.Helper()
	f := l.faults(answers)
	assert.Empty(t, f.missing, "answers with no decision in LEDGER")
	assert.Empty(t, f.wrong, "answers that differ from LEDGER")
	assert.Empty(t, f.twice, "event ids decided more than once")
	assert.Empty(t, f.negative, "pools below zero in LEDGER")

	conn, err := grpcserver.Dial(s.ledgerA.addr, devstack.AdminKey)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	for team := range teams {
		b, err := v1.NewLedgerServiceClient(conn).GetBalance(t.Context(), &v1.GetBalanceRequest{TeamId: team})
		require.NoError(t, err)
		assert.GreaterOrEqual(t, b.GetBalance().GetAvailable(), int64(0), "team %s's pool", team)
		assert.Equal(t, l.packs[team]-l.charges[team].Tokens, b.GetBalance().GetAvailable(),
			"team %s: the ledger's balance is its packs less its charges in LEDGER", team)
	}
}

// checkClickHouse waits for reporting to project the whole log, then
// requires ClickHouse's charges per team to equal LEDGER's, with no event
// projected twice.
func checkClickHouse(t *testing.T, ch driver.Conn, l *ledgerLog) {
	t.Helper()
	var got map[string]teamTotals
	var dup int64
	caughtUp := func() bool {
		got, dup = chargesByTeam(t, ch)
		return maps.Equal(got, l.charges)
	}
	deadline := time.Now().Add(time.Minute)
	for !caughtUp() && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	assert.Equal(t, l.charges, got, "ClickHouse charges per team equal LEDGER's")
	assert.Zero(t, dup, "charges projected more than once")
}

func chargesByTeam(t *testing.T, ch driver.Conn) (map[string]teamTotals, int64) {
	t.Helper()
	rows, err := ch.Query(t.Context(), "SELECT team_id, count(), sum(tokens), count() - uniqExact(event_id) FROM charges_v2 GROUP BY team_id")
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out, dups := map[string]teamTotals{}, int64(0)
	for rows.Next() {
		var team string
		var n uint64
		var tokens, d int64
		require.NoError(t, rows.Scan(&team, &n, &tokens, &d))
		out[team], dups = teamTotals{Charges: int64(n), Tokens: tokens}, dups+d
	}
	require.NoError(t, rows.Err())
	return out, dups
}

// connect dials the NATS server as identity.
func (s *stack) connect(identity string) *nats.Conn {
	s.t.Helper()
	opts, err := natsauth.Client{URL: s.natsURL, Identity: identity, Creds: natsauth.SeedFile(s.seeds, identity)}.Options()
	require.NoError(s.t, err)
	nc, err := nats.Connect(s.natsURL, append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))...)
	require.NoError(s.t, err)
	return nc
}
