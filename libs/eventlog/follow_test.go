package eventlog

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// A follower of the catalog subjects reads them on the legacy LEDGER and on
// every partition stream, returns once it has read what they held, and
// finds a partition stream created after it started.
func TestFollowerReadsEveryLedgerStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "ledger"))
	require.NoError(t, err)
	require.NoError(t, Provision(ctx, js, StreamOptions{Partitions: 2}, LedgerStreams(2)...))
	appendCatalog := func(p int, org, id string) {
		t.Helper()
		_, err := Append(ctx, js, subject.LedgerSubjectIn(p, org, subject.CatalogToken), &v1.Event{EventId: id, OrgId: org}, nil)
		require.NoError(t, err)
	}
	appendCatalog(subject.Unpartitioned, "old", "cat-0000001")
	appendCatalog(1, "new", "cat-0000002")
	_, err = Append(ctx, js, subject.LedgerSubjectIn(1, "new", "design"), &v1.Event{EventId: "pool-000001", OrgId: "new"}, nil)
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string]string{} // event id → stream
	filter := func(p int) string { return subject.LedgerSubjectIn(p, "*", subject.CatalogToken) }
	f, err := FollowStreams(ctx, js, LedgerStream, filter, func(msg jetstream.Msg) {
		meta, err := msg.Metadata()
		require.NoError(t, err)
		ev, err := Decode(msg.Data())
		require.NoError(t, err)
		mu.Lock()
		seen[ev.GetEventId()] = meta.Stream
		mu.Unlock()
	}, nil)
	require.NoError(t, err)
	t.Cleanup(f.Stop)
	mu.Lock()
	require.Equal(t, map[string]string{"cat-0000001": "LEDGER", "cat-0000002": "LEDGER-1"}, seen, "read before it returns; no pool subject")
	mu.Unlock()

	require.NoError(t, Provision(ctx, js, StreamOptions{Partitions: 4}, subject.LedgerStreamOf(3)))
	appendCatalog(3, "later", "cat-0000003")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["cat-0000003"] == "LEDGER-3"
	}, 3*DiscoverEvery, 50*time.Millisecond, "a partition stream made later is found")
}
