package ring

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// A replica that withdraws, comes back, or silently stops announcing is
// logged once when it goes and once when it comes, by the others.
func TestReplicaLossAndReturnAreLoggedOnce(t *testing.T) {
	// Stale after fifty missed announcements: under -race on a busy 2-core
	// machine an announcement can be late by a few hundred milliseconds.
	const interval, staleAfter = 20 * time.Millisecond, time.Second
	url, _ := testkit.NATS(t)
	nc := testkit.Connect(t, url, "ledger")
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	discard := slog.New(slog.DiscardHandler)
	run := func(id string, r *Ring, log *slog.Logger) (stop func()) {
		a, err := OpenAnnouncer(t.Context(), js, r, Member{ID: id, Addr: id + ":1", Seen: time.Now()}, interval, 1, log)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		var once sync.Once
		// A stop before Run watched the bucket ends it with ctx's error: not a failure here.
		stop = func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return stop
	}
	logs := &testkit.Output{}
	ringA := New("a", staleAfter, time.Now)
	run("a", ringA, slog.New(slog.NewTextHandler(logs, nil)))
	const lost, joined = "ledger replica lost", "ledger replica joined"
	eventually := func(msg, id string, n int) {
		t.Helper()
		require.Eventually(t, func() bool { return logs.Count(`msg="`+msg, "replica="+id+" ") == n }, 5*time.Second, 5*time.Millisecond, "%s %s %d", msg, id, n)
	}
	// b may be there before a has loaded the ring (then its arrival is not news).
	stopB := run("b", New("b", staleAfter, time.Now), discard)
	require.Eventually(t, func() bool { return len(ringA.Live()) == 2 }, 5*time.Second, 5*time.Millisecond)
	base := logs.Count(`msg="`+joined, "replica=b ")
	for round := 1; round <= 2; round++ {
		stopB() // withdraws
		eventually(lost, "b", round)
		stopB = run("b", New("b", staleAfter, time.Now), discard)
		eventually(joined, "b", base+round)
	}
	// c announces once and then is silent, as a killed process.
	_, err = OpenAnnouncer(t.Context(), js, New("c", staleAfter, time.Now), Member{ID: "c", Addr: "c:1"}, interval, 1, discard)
	require.NoError(t, err)
	eventually(joined, "c", 1)
	eventually(lost, "c", 1)
	require.Never(t, func() bool {
		return logs.Count(`msg="`+lost, "replica=c ") > 1 || logs.Count(`msg="`+lost, "replica=b ") > 2
	}, 10*interval, interval)
}

// While NATS is away every announcement fails: that is one line when the
// first fails and one when they work again, not one a tick.
func TestAnnounceFailureIsLoggedOnce(t *testing.T) {
	const interval = 20 * time.Millisecond
	url, srv := testkit.NATS(t)
	// As the service connects: no reconnect buffer, so a put fails at once.
	nc := testkit.Connect(t, url, "ledger", nats.ReconnectBufSize(-1), nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1))
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	logs := &testkit.Output{}
	r := New("a", time.Second, time.Now)
	a, err := OpenAnnouncer(t.Context(), js, r, Member{ID: "a", Addr: "a:1"}, interval, 1,
		slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	const failing, restored = "ledger ring announcement failing", "ledger ring announcement restored"
	// Its watch has delivered its own entry: Run is under way.
	require.Eventually(t, func() bool { return len(r.Live()) == 1 }, 5*time.Second, interval)
	restart := testkit.StopNATS(t, srv)
	require.Eventually(t, func() bool { return logs.Count(`msg="`+failing) == 1 }, 5*time.Second, interval)
	time.Sleep(20 * interval) // twenty more failed ticks
	// The restarted server lost the members bucket (memory storage): the
	// announcer makes it again and is seen in it.
	restart()
	require.Eventually(t, func() bool { return logs.Count(`msg="`+restored) == 1 }, 10*time.Second, interval)
	require.Equal(t, 1, logs.Count(`msg="`+failing), "one line for the loss, however many ticks failed")
	require.Zero(t, logs.Count("level=WARN"), "no other warning a tick:\n%s", logs)
	require.Eventually(t, func() bool {
		kv, err := js.KeyValue(t.Context(), MembersBucket)
		if err != nil {
			return false
		}
		e, err := kv.Get(t.Context(), "a")
		return err == nil && string(e.Value()) == "a:1"
	}, 5*time.Second, interval, "announced in the new bucket")
}

// A NATS restart that outlasts the staleness makes each replica lose the
// other; when both announce in the new bucket, each logs the other's return,
// also the one that found the bucket made again by the other (a is slower).
func TestPeerReturnAfterNATSRestartIsLogged(t *testing.T) {
	const staleAfter = 800 * time.Millisecond
	url, srv := testkit.NATS(t)
	run := func(id string, interval time.Duration, log *slog.Logger) *Ring {
		nc := testkit.Connect(t, url, "ledger", nats.ReconnectBufSize(-1), nats.ReconnectWait(20*time.Millisecond), nats.MaxReconnects(-1))
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		r := New(id, staleAfter, time.Now)
		a, err := OpenAnnouncer(t.Context(), js, r, Member{ID: id, Addr: id + ":1"}, interval, 1, log)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return r
	}
	logs := &testkit.Output{}
	ringA := run("a", 200*time.Millisecond, slog.New(slog.NewTextHandler(logs, nil)))
	require.Eventually(t, func() bool { return len(ringA.Live()) == 1 }, 5*time.Second, 10*time.Millisecond)
	run("b", 20*time.Millisecond, slog.New(slog.DiscardHandler))
	const lost, joined = `msg="ledger replica lost`, `msg="ledger replica joined`
	require.Eventually(t, func() bool { return logs.Count(joined, "replica=b ") == 1 }, 5*time.Second, 10*time.Millisecond)

	restart := testkit.StopNATS(t, srv)
	require.Eventually(t, func() bool { return logs.Count(lost, "replica=b ") == 1 }, 5*time.Second, 10*time.Millisecond)
	restart()
	require.Eventually(t, func() bool { return logs.Count(joined, "replica=b ") == 2 }, 10*time.Second, 10*time.Millisecond,
		"b's return is logged:\n%s", logs)
	require.Equal(t, 1, logs.Count(lost, "replica=b "))
	require.Eventually(t, func() bool { return len(ringA.Live()) == 2 }, 5*time.Second, 10*time.Millisecond, "a sees b again")
}

// The members bucket is replicated as the streams are: on one copy, losing
// its node made every ledger replica think the others had died.
func TestMembersBucketIsReplicated(t *testing.T) {
	url := testkit.NATSCluster(t, 3)
	js, err := jetstream.New(testkit.Connect(t, url, "ledger"))
	require.NoError(t, err)
	_, err = OpenAnnouncer(t.Context(), js, New("a", time.Second, time.Now), Member{ID: "a", Addr: "a:1"}, time.Second, 3, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	kv, err := js.KeyValue(t.Context(), MembersBucket)
	require.NoError(t, err)
	st, err := kv.Status(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas)
}
