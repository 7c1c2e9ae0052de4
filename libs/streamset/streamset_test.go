package streamset_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/streamset"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

func create(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: name, Subjects: subject.StreamSubjects(name), Storage: jetstream.MemoryStorage})
	require.NoError(t, err)
}

func TestOfListsTheLegacyStreamAndThePartitions(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	for _, n := range []string{"LEDGER-2", "LEDGER", "LEDGER-0", "LEDGER-31", "USAGE-1"} {
		create(t, js, n)
	}
	f := streamset.Finder{JS: js, Identity: "admin"}
	names, err := f.Of(t.Context(), subject.LedgerStream)
	require.NoError(t, err)
	require.Equal(t, []string{"LEDGER", "LEDGER-0", "LEDGER-2", "LEDGER-31"}, names)
	names, err = f.Of(t.Context(), subject.UsageStream)
	require.NoError(t, err)
	require.Equal(t, []string{"USAGE-1"}, names, "a partitioned layout needs no legacy stream")
	_, err = f.Of(t.Context(), "ALERTS")
	require.Error(t, err)

	// An identity asks only about the streams its grant names (NATS would
	// leave the others unanswered until a timeout).
	reader, err := jetstream.New(testkit.Connect(t, url, "reader"))
	require.NoError(t, err)
	start := time.Now()
	names, err = streamset.Finder{JS: reader, Identity: "reader"}.Of(t.Context(), subject.LedgerStream)
	require.NoError(t, err)
	require.Contains(t, names, "LEDGER")
	require.Less(t, time.Since(start), time.Second, "no request waits out a timeout")
}

func TestFollowFindsStreamsCreatedLater(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	create(t, js, "LEDGER-0")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := streamset.Finder{JS: js, Identity: "admin", Log: log}
	known, err := f.Await(t.Context(), 5*time.Second, subject.LedgerStream)
	require.NoError(t, err)
	require.Equal(t, []string{"LEDGER-0"}, known)

	var mu sync.Mutex
	var found []string
	refused := false
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Follow(ctx, 10*time.Millisecond, known, func(n string) bool {
			mu.Lock()
			defer mu.Unlock()
			if n == "USAGE-3" && !refused {
				refused = true // refused once: offered again
				return false
			}
			found = append(found, n)
			return true
		}, subject.LedgerStream, subject.UsageStream)
	}()
	create(t, js, "LEDGER-1")
	create(t, js, "USAGE-3")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(found) == 2
	}, 5*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	cancel()
	<-done
	require.ElementsMatch(t, []string{"LEDGER-1", "USAGE-3"}, found, "each new stream once, a refused one again")
}

func TestAwaitFailsClearlyWithoutAStream(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "admin"))
	require.NoError(t, err)
	f := streamset.Finder{JS: js, Identity: "admin", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, err = f.Await(t.Context(), 300*time.Millisecond, subject.LedgerStream)
	require.ErrorContains(t, err, "no LEDGER stream")
}
