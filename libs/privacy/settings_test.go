package privacy

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Follow returns once it has read the settings already on the log, whatever
// else LEDGER holds: a log with pool events but no catalog event (a service
// restarting on a busy log) used to leave it waiting forever.
func TestFollowReturnsOnALogWithoutSettings(t *testing.T) {
	url, _ := testkit.NATS(t)
	_, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, natsauth.Ledger), "ledger", slog.New(slog.DiscardHandler),
		eventlog.Streams{Own: []string{eventlog.LedgerStream}})
	require.NoError(t, err)
	appendEvent := func(subject, id string, ev *v1.Event) {
		ev.EventId, ev.OrgId, ev.ServerTime = id, "acme", timestamppb.Now()
		_, err := eventlog.Append(t.Context(), js, subject, ev, nil)
		require.NoError(t, err)
	}
	for i, id := range []string{"pack-1", "pack-2", "pack-3"} {
		appendEvent(eventlog.LedgerSubject("acme", []string{"design", "build", "civil"}[i]), id,
			&v1.Event{Type: "pack_added", Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: id, Tokens: 10}}})
	}
	follow := func() *Settings {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		s, err := Follow(ctx, js)
		require.NoError(t, err, "Follow must not wait for a catalog event that does not exist")
		t.Cleanup(s.Stop)
		return s
	}
	for range 20 { // the server may skip the consumer past the pool events before or after Follow asks
		require.False(t, follow().ShowsPersonalData("acme"))
	}

	appendEvent(eventlog.CatalogSubject("acme"), "show", &v1.Event{Type: "personal_data_set",
		Payload: &v1.Event_PersonalDataSet{PersonalDataSet: &v1.PersonalDataSet{Show: true}}})
	appendEvent(eventlog.LedgerSubject("acme", "design"), "pack-4",
		&v1.Event{Type: "pack_added", Payload: &v1.Event_PackAdded{PackAdded: &v1.PackAdded{PackId: "pack-4", Tokens: 10}}})
	require.True(t, follow().ShowsPersonalData("acme"), "a setting on the log is read before Follow returns")
}
