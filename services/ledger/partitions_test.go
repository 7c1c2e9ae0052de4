package ledger_test

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/config"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger"
)

func withPartitions(n int) func(*ledger.Config) {
	return func(c *ledger.Config) { c.Partitions = n }
}

// noRing makes a replica decide every pool it is asked about, so two
// replicas write the same pools.
func noRing(c *ledger.Config) { c.PeerAPIKey = "" }

// teamOutcome is what a pool's workload left: its balance and how many
// launches each answer got.
type teamOutcome struct {
	available          int64
	authorized, denied int
}

// runTeams gives each team a 25-token pack and three users, then launches
// each user once (and the first twice, a retry): REVIT at 10 a day charges
// two and denies one.
func runTeams(t *testing.T, addr string, teams []string) map[string]teamOutcome {
	t.Helper()
	ctx := t.Context()
	admin, svc := client(t, addr, adminKey), client(t, addr, serviceKey)
	_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: "rate-revit", ProductCode: "REVIT", DailyRate: 10})
	require.NoError(t, err)
	out := map[string]teamOutcome{}
	for _, team := range teams {
		_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: "pack-" + team, TeamId: team, PackId: "p1", Tokens: 25})
		require.NoError(t, err)
		for u := range 3 {
			_, err := admin.AssignUser(ctx, &v1.AssignUserRequest{EventId: fmt.Sprintf("assign-%s-%d", team, u), TeamId: team, UserId: fmt.Sprintf("u%d", u), ProductCodes: []string{"REVIT"}})
			require.NoError(t, err)
		}
		var o teamOutcome
		for _, u := range []int{0, 0, 1, 2} {
			o.count(launch(t, svc, team, u))
		}
		b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: team})
		require.NoError(t, err)
		o.available = b.GetBalance().GetAvailable()
		out[team] = o
	}
	return out
}

func launch(t *testing.T, svc v1.LedgerServiceClient, team string, user int) *v1.LaunchResponse {
	t.Helper()
	resp, err := svc.Authorize(auth.ActingFor(t.Context(), "acme"), &v1.AuthorizeRequest{Launch: &v1.LaunchRequest{
		EventId: fmt.Sprintf("launch-%s-%d", team, user), TeamId: team, UserId: fmt.Sprintf("u%d", user), ProductCode: "REVIT"}})
	require.NoError(t, err)
	return resp.GetResult()
}

func (o *teamOutcome) count(r *v1.LaunchResponse) {
	if r.GetDecision() == v1.Decision_DECISION_AUTHORIZED {
		o.authorized++
	} else {
		o.denied++
	}
}

func teamNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

// ledgerJS connects to natsURL as the ledger identity.
func ledgerJS(t *testing.T, natsURL string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL, testkit.Options(t, natsURL, "ledger")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js
}

// poolStreams maps each acme pool (and the catalog) to every LEDGER stream
// holding its subject, and counts each event id across them all.
func poolStreams(t *testing.T, js jetstream.JetStream) (streams map[string][]string, ids map[string]int) {
	t.Helper()
	ctx := t.Context()
	streams, ids = map[string][]string{}, map[string]int{}
	for _, name := range eventlog.LedgerStreams(subject.MaxPartitions) {
		stream, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		require.NoError(t, err)
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject.StreamSubjects(name)[0]))
		require.NoError(t, err)
		for subj := range info.State.Subjects {
			_, org, team, ok := subject.PoolOfSubject(subj)
			require.True(t, ok, subj)
			require.Equal(t, "acme", org)
			streams[team] = append(streams[team], name)
			_, err := eventlog.ReadStream(ctx, stream, subj, 0, func(st eventlog.Stored) error {
				ids[st.Event.GetEventId()]++
				return nil
			})
			require.NoError(t, err)
		}
	}
	return streams, ids
}

// A ledger of 4 partitions spreads 40 pools over at least 3 streams (none
// in the legacy LEDGER) and answers exactly as a ledger of one stream does.
func TestPartitionsSpreadPoolsWithTheSameOutcome(t *testing.T) {
	t.Parallel()
	teams := teamNames("t", 40)
	oneURL, _ := testkit.NATS(t)
	one := runTeams(t, startReplica(t, oneURL, "one").svc.Addr(), teams)
	fourURL, _ := testkit.NATS(t)
	four := runTeams(t, startReplica(t, fourURL, "four", withPartitions(4)).svc.Addr(), teams)
	require.Equal(t, one, four, "balances and answers match the one-stream run")
	require.Equal(t, teamOutcome{available: 5, authorized: 3, denied: 1}, one["t00"], "the retry repeats the first answer")

	streams, ids := poolStreams(t, ledgerJS(t, fourURL))
	used := map[string]bool{}
	for _, team := range teams {
		require.Len(t, streams[team], 1, team)
		want := subject.LedgerStreamOf(subject.PartitionOf("acme", team, 4))
		require.Equal(t, want, streams[team][0], "%s placed by its hash", team)
		used[want] = true
	}
	require.GreaterOrEqual(t, len(used), 3, "40 pools over at least 3 of 4 partitions")
	require.Equal(t, []string{subject.LedgerStreamOf(subject.PartitionOf("acme", subject.CatalogToken, 4))}, streams[subject.CatalogToken])
	for id, n := range ids {
		require.Equal(t, 1, n, "%s stored once", id)
	}
}

// Two ledgers of 2 and 5 partitions on one NATS, both writing the same new
// pools at once, agree on each pool's stream: every pool is in one stream,
// with both ledgers' packs.
func TestReplicasOfDifferentPartitionsAgreeOnPlacement(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	natsURL, _ := testkit.NATS(t)
	admins := []v1.LedgerServiceClient{
		client(t, startReplica(t, natsURL, "two", withPartitions(2), noRing).svc.Addr(), adminKey),
		client(t, startReplica(t, natsURL, "five", withPartitions(5), noRing).svc.Addr(), adminKey),
	}
	teams := teamNames("race", 30)
	var wg sync.WaitGroup
	for i, admin := range admins {
		for _, team := range teams {
			wg.Go(func() {
				_, err := admin.AddPack(ctx, &v1.AddPackRequest{EventId: fmt.Sprintf("pack-%s-%d", team, i), TeamId: team, PackId: fmt.Sprintf("p%d", i), Tokens: 7})
				require.NoError(t, err)
			})
		}
	}
	wg.Wait()
	streams, _ := poolStreams(t, ledgerJS(t, natsURL))
	for _, team := range teams {
		require.Len(t, streams[team], 1, "%s written in one stream by both", team)
		for _, admin := range admins {
			b, err := admin.GetBalance(ctx, &v1.GetBalanceRequest{TeamId: team})
			require.NoError(t, err)
			require.EqualValues(t, 14, b.GetBalance().GetAvailable(), "%s holds both packs", team)
		}
	}
}

// Changing the number of partitions on a running system, 1 → 4 → 8: pools
// keep their stream, history and balance; retried launches are not charged
// again; new pools go to the new layout.
func TestChangingPartitionsKeepsPools(t *testing.T) {
	t.Parallel()
	natsURL, _ := testkit.NATS(t)
	js := ledgerJS(t, natsURL)
	layouts := []struct {
		n     int
		teams []string
	}{{1, teamNames("a", 10)}, {4, teamNames("b", 10)}, {8, teamNames("c", 10)}}
	placed := map[string]string{}
	outcomes := map[string]teamOutcome{}
	for i, l := range layouts {
		r := startReplica(t, natsURL, fmt.Sprintf("n%d", l.n), withPartitions(l.n))
		maps := runTeams(t, r.svc.Addr(), l.teams)
		for team, o := range maps {
			outcomes[team] = o
		}
		// Every earlier pool again: the same answers and balance, no new charge.
		earlier := map[string]teamOutcome{}
		for _, prev := range layouts[:i] {
			earlier = mergeOutcomes(earlier, runTeams(t, r.svc.Addr(), prev.teams))
		}
		for team, o := range earlier {
			require.Equal(t, outcomes[team], o, "%s after the change to %d partitions", team, l.n)
		}
		streams, ids := poolStreams(t, js)
		for _, team := range l.teams {
			require.Equal(t, []string{subject.LedgerStreamOf(subject.PartitionOf("acme", team, l.n))}, streams[team], "new pool %s in the layout of %d", team, l.n)
			placed[team] = streams[team][0]
		}
		for team, stream := range placed {
			require.Equal(t, []string{stream}, streams[team], "%s stays in its stream", team)
		}
		for id, n := range ids {
			require.Equal(t, 1, n, "%s stored once", id)
		}
		r.stop()
	}
	require.Equal(t, subject.LedgerStream, placed["a00"], "pools of the one-stream layout stay in LEDGER")
}

func mergeOutcomes(into, from map[string]teamOutcome) map[string]teamOutcome {
	for k, v := range from {
		into[k] = v
	}
	return into
}

// A pool's history merges its own events with its organisation's rate
// changes when the two are in different partition streams: the same
// transactions in the same order as on one stream, page by page.
func TestHistoryAcrossPartitions(t *testing.T) {
	t.Parallel()
	catalog := subject.PartitionOf("acme", subject.CatalogToken, 4)
	team := ""
	for _, name := range teamNames("h", 40) {
		if subject.PartitionOf("acme", name, 4) != catalog {
			team = name
			break
		}
	}
	history := func(n int) []string {
		natsURL, _ := testkit.NATS(t)
		addr := startReplica(t, natsURL, fmt.Sprintf("h%d", n), withPartitions(n)).svc.Addr()
		admin, ctx := client(t, addr, adminKey), t.Context()
		for i := range 3 {
			_, err := admin.SetProductRate(ctx, &v1.SetProductRateRequest{EventId: fmt.Sprintf("rate-rev-%d", i), ProductCode: "REVIT", DailyRate: int64(10 + i)})
			require.NoError(t, err)
			_, err = admin.AddPack(ctx, &v1.AddPackRequest{EventId: fmt.Sprintf("pack-hist-%d", i), TeamId: team, PackId: fmt.Sprintf("p%d", i), Tokens: int64(100 + i)})
			require.NoError(t, err)
		}
		var out []string
		for _, tx := range listAll(t, admin, &v1.ListTransactionsRequest{TeamId: team, PageSize: 1}) {
			detail, _, _ := strings.Cut(tx.GetDetail(), " from ") // the runs' clocks differ
			out = append(out, fmt.Sprintf("%s %d %s", tx.GetType(), tx.GetTokens(), detail))
		}
		return out
	}
	one := history(1)
	require.Len(t, one, 6)
	require.Equal(t, one, history(4))
}

// -partitions falls back to TOKENMETER_PARTITIONS and is bounded by
// subject.MaxPartitions.
func TestPartitionsFlag(t *testing.T) {
	t.Setenv("TOKENMETER_PARTITIONS", "33")
	var cfg ledger.Config
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	cfg.Register(fs)
	require.NoError(t, config.Parse(fs, nil))
	require.Equal(t, 33, cfg.Partitions)
	require.ErrorContains(t, cfg.Validate(), "partitions 33: want 1 to 32")
	require.NoError(t, config.Parse(fs, []string{"-partitions", "8"}))
	require.NotContains(t, fmt.Sprint(cfg.Validate()), "partitions")
}
