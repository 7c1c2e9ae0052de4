package ring

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

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
		a, err := OpenAnnouncer(t.Context(), js, r, Member{ID: id, Addr: id + ":1", Seen: time.Now()}, interval, log)
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
	_, err = OpenAnnouncer(t.Context(), js, New("c", staleAfter, time.Now), Member{ID: "c", Addr: "c:1"}, interval, discard)
	require.NoError(t, err)
	eventually(joined, "c", 1)
	eventually(lost, "c", 1)
	require.Never(t, func() bool {
		return logs.Count(`msg="`+lost, "replica=c ") > 1 || logs.Count(`msg="`+lost, "replica=b ") > 2
	}, 10*interval, interval)
}
