package lease_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/lease"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

const ttl = 800 * time.Millisecond

// bucket connects to the test's server at url, through via when set.
func bucket(t *testing.T, url, via string) (*lease.Bucket, jetstream.JetStream) {
	t.Helper()
	if via == "" {
		via = url
	}
	nc, err := nats.Connect(via, testkit.Options(t, url, "admin")...)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	b, err := lease.Open(t.Context(), js, "TEST_LEASES", ttl, 1)
	require.NoError(t, err)
	return b, js
}

// spans records when each holder's work ran, to check they never overlap.
type spans struct {
	mu   sync.Mutex
	runs []span
}

type span struct {
	holder      string
	from, until time.Time
	fence       time.Time
}

func (s *spans) work(holder string, started chan<- string) lease.Work {
	return func(ctx context.Context, fence func() time.Time) error {
		from := time.Now()
		started <- holder
		<-ctx.Done()
		s.mu.Lock()
		s.runs = append(s.runs, span{holder: holder, from: from, until: time.Now(), fence: fence()})
		s.mu.Unlock()
		return nil
	}
}

func run(t *testing.T, b *lease.Bucket, holder string, w lease.Work) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- b.Run(ctx, "LEDGER", lease.Options{Holder: holder, TTL: ttl, Log: slog.Default()}, w)
	}()
	stop = func() { cancel(); require.NoError(t, <-done) }
	return stop
}

// One holder at a time; a holder that stops releases the key and the other
// takes it within a renewal period rather than a TTL.
func TestOneHolderAtATimeAndHandover(t *testing.T) {
	url, _ := testkit.NATS(t)
	kv, _ := bucket(t, url, "")
	var s spans
	started := make(chan string, 4)
	stopA := run(t, kv, "a", s.work("a", started))
	require.Equal(t, "a", <-started)
	stopB := run(t, kv, "b", s.work("b", started))
	defer stopB()
	select {
	case h := <-started:
		t.Fatalf("%s started while a holds the lease", h)
	case <-time.After(2 * ttl):
	}
	handover := time.Now()
	stopA()
	require.Equal(t, "b", <-started)
	require.Less(t, time.Since(handover), ttl, "a released the key: b need not wait for it to expire")
}

// A holder cut off from NATS (its connection stalls, it cannot tell) stops
// its work at its fence, before the key expires and the other takes it.
func TestStalledHolderStopsBeforeTheOtherStarts(t *testing.T) {
	url, _ := testkit.NATS(t)
	proxy := testkit.NewProxy(t, strings.TrimPrefix(url, "nats://"))
	t.Cleanup(proxy.Flow)
	kvA, _ := bucket(t, url, "nats://"+proxy.Addr())
	kvB, _ := bucket(t, url, "")
	var s spans
	started := make(chan string, 4)
	stopA := run(t, kvA, "a", s.work("a", started))
	require.Equal(t, "a", <-started)
	stopB := run(t, kvB, "b", s.work("b", started))
	defer stopB()
	time.Sleep(ttl) // a renews meanwhile
	proxy.Stall()
	require.Equal(t, "b", <-started)
	bFrom := time.Now()
	proxy.Flow()
	stopA()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.runs)
	a := s.runs[0]
	require.Equal(t, "a", a.holder)
	require.True(t, a.until.Before(bFrom), "a's work ran until %s, b's began at %s", a.until, bFrom)
	require.False(t, a.fence.After(bFrom), "a's fence %s is after b's start %s", a.fence, bFrom)
}

// Work that fails ends Run with its error, and the key is free again.
func TestFailedWorkReleasesTheKey(t *testing.T) {
	url, _ := testkit.NATS(t)
	kv, js := bucket(t, url, "")
	boom := errors.New("boom")
	err := kv.Run(t.Context(), "LEDGER", lease.Options{Holder: "a", TTL: ttl, Log: slog.Default()},
		func(context.Context, func() time.Time) error { return boom })
	require.ErrorIs(t, err, boom)
	raw, err := js.KeyValue(t.Context(), "TEST_LEASES")
	require.NoError(t, err)
	_, err = raw.Get(t.Context(), "LEDGER")
	require.ErrorIs(t, err, jetstream.ErrKeyNotFound)
}

// A holder whose bucket an operator removed makes it again and goes on.
func TestRemovedBucketIsMadeAgain(t *testing.T) {
	url, _ := testkit.NATS(t)
	kv, js := bucket(t, url, "")
	var s spans
	started := make(chan string, 4)
	stop := run(t, kv, "a", s.work("a", started))
	defer stop()
	require.Equal(t, "a", <-started)
	require.NoError(t, js.DeleteKeyValue(t.Context(), "TEST_LEASES"))
	require.Equal(t, "a", <-started, "taken again in the bucket made anew")
	_, err := js.KeyValue(t.Context(), "TEST_LEASES")
	require.NoError(t, err)
}
