package origin

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schema"
)

func TestResetLogIsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, _ := testkit.NATS(t)
	ch, db := testkit.ClickHouse(t)
	_, err := schema.Migrate(ctx, ch)
	require.NoError(t, err)
	// Deleting a stream under reporting's feet is an admin's act.
	nc, err := nats.Connect(url, testkit.Options(t, url, "admin")...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.NoError(t, eventlog.Provision(ctx, js, eventlog.StreamOptions{}))

	require.NoError(t, Check(ctx, ch, js, eventlog.LedgerStream, db), "first start records the origin")
	require.NoError(t, Check(ctx, ch, js, eventlog.LedgerStream, db), "the same stream again")

	require.NoError(t, js.DeleteStream(ctx, eventlog.LedgerStream))
	require.NoError(t, eventlog.Provision(ctx, js, eventlog.StreamOptions{}))
	err = Check(ctx, ch, js, eventlog.LedgerStream, db)
	require.ErrorIs(t, err, ErrLogReset)
	require.ErrorContains(t, err, "fresh database")
}
