package natsauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// refusal is what a permission violation looks like to a JetStream call: the
// server drops the request and reports the violation on the connection.
type refusal struct{ errs chan error }

func connect(t *testing.T, url, identity string) (jetstream.JetStream, *refusal) {
	t.Helper()
	r := &refusal{errs: make(chan error, 16)}
	nc := testkit.Connect(t, url, identity, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case r.errs <- err:
		default:
		}
	}))
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return js, r
}

// requireRefused asserts call fails and the server reported a permissions violation.
func (r *refusal) requireRefused(t *testing.T, what string, call func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	require.Error(t, call(ctx), what)
	select {
	case err := <-r.errs:
		require.ErrorIs(t, err, nats.ErrPermissionViolation, what)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no permissions violation reported", what)
	}
}

func provisioned(t *testing.T) string {
	t.Helper()
	url, _ := testkit.NATS(t)
	js, _ := connect(t, url, natsauth.Admin)
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{}))
	ing, _ := connect(t, url, natsauth.Ingestion)
	_, err := eventlog.OpenBucket(t.Context(), ing, jetstream.KeyValueConfig{Bucket: "LAUNCHER_KEYS"})
	require.NoError(t, err)
	return url
}

func TestAnonymousIsRefused(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	_, err := nats.Connect(url)
	require.ErrorIs(t, err, nats.ErrAuthorization)
}

// Only the ledger (and the admin) append money events.
func TestOnlyTheLedgerAppendsLedgerEvents(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	for _, id := range []string{natsauth.Ingestion, natsauth.Reporting, natsauth.Alerting, natsauth.Reader} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" appends to ledger.x.y", func(ctx context.Context) error {
			_, err := js.Publish(ctx, "ledger.x.y", []byte("forged"))
			return err
		})
	}
	js, _ := connect(t, url, natsauth.Ledger)
	_, err := js.Publish(t.Context(), "ledger.x.y", []byte("decided"))
	require.NoError(t, err)
}

// C1: a launcher key forged into LAUNCHER_KEYS by anyone but ingestion.
func TestOnlyIngestionWritesLauncherKeys(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	for _, id := range []string{natsauth.Ledger, natsauth.Reporting, natsauth.Alerting, natsauth.Reader} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" puts a launcher key", func(ctx context.Context) error {
			_, err := js.Publish(ctx, "$KV.LAUNCHER_KEYS.forged", []byte(`{"org":"victim-org"}`))
			return err
		})
		r.requireRefused(t, id+" opens the bucket", func(ctx context.Context) error {
			_, err := js.KeyValue(ctx, "LAUNCHER_KEYS")
			return err
		})
	}
	js, _ := connect(t, url, natsauth.Ingestion)
	kv, err := js.KeyValue(t.Context(), "LAUNCHER_KEYS")
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "k1", []byte("issued"))
	require.NoError(t, err)
}

// Readers read; they neither purge nor delete nor reconfigure a stream.
func TestNoServiceButTheOwnerChangesAStream(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	for _, id := range []string{natsauth.Alerting, natsauth.Reporting, natsauth.Ingestion, natsauth.Reader} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" purges LEDGER", func(ctx context.Context) error {
			s, err := js.Stream(ctx, eventlog.LedgerStream)
			if err != nil {
				return err
			}
			return s.Purge(ctx)
		})
		r.requireRefused(t, id+" deletes LEDGER", func(ctx context.Context) error {
			return js.DeleteStream(ctx, eventlog.LedgerStream)
		})
	}
	js, r := connect(t, url, natsauth.Ledger)
	r.requireRefused(t, "ledger changes USAGE", func(ctx context.Context) error {
		return eventlog.Provision(ctx, js, eventlog.StreamOptions{Update: true}, eventlog.UsageStream)
	})
	require.NoError(t, eventlog.Provision(t.Context(), js, eventlog.StreamOptions{}, eventlog.LedgerStream))
}

// An owner creates its stream and buckets but cannot change them: a
// RePublish (or a source, or a subject transform) would copy what it may
// publish onto subjects it may not, e.g. a pack onto ledger.> or a key into
// LAUNCHER_KEYS. Changing a stream is the admin's.
func TestOwnersCannotRepublishIntoOthersSubjects(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	for id, stream := range map[string]string{natsauth.Alerting: eventlog.AlertsStream, natsauth.Ingestion: eventlog.UsageStream} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" republishes "+stream+" into ledger.>", func(ctx context.Context) error {
			s, err := js.Stream(ctx, stream)
			if err != nil {
				return err
			}
			cfg := s.CachedInfo().Config
			cfg.RePublish = &jetstream.RePublish{Source: ">", Destination: "ledger.acme.design"}
			_, err = js.UpdateStream(ctx, cfg)
			return err
		})
	}
	js, r := connect(t, url, natsauth.Ingestion)
	_, err := eventlog.OpenBucket(t.Context(), js, jetstream.KeyValueConfig{Bucket: "LAUNCHER_KEYS"})
	require.NoError(t, err, "the owner opens its bucket")
	r.requireRefused(t, "ingestion changes its bucket", func(ctx context.Context) error {
		_, err := js.UpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LAUNCHER_KEYS", History: 7})
		return err
	})
}

// An identity cannot listen to another's replies, where KV values and
// stream reads come back.
func TestNoIdentityReadsAnotherInbox(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	errs := make(chan error, 4)
	nc := testkit.Connect(t, url, natsauth.Reporting, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	for _, subject := range []string{"_INBOX.>", natsauth.InboxPrefix(natsauth.Alerting) + ".>"} {
		_, err := nc.SubscribeSync(subject)
		require.NoError(t, err) // refused asynchronously
		select {
		case err := <-errs:
			require.True(t, errors.Is(err, nats.ErrPermissionViolation), "%s: %v", subject, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("subscribing to %s was not refused", subject)
		}
	}
}

// Reading a stream lets an identity make its own consumers on it, not use
// or remove another's durable one: the reader cannot take or delete the
// webhook deliveries alerting's durable consumer holds.
func TestOthersDurableConsumersAreOffLimits(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	owner, _ := connect(t, url, natsauth.Alerting)
	_, err := owner.CreateOrUpdateConsumer(t.Context(), eventlog.AlertsStream,
		jetstream.ConsumerConfig{Durable: "alerting-webhooks", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err, "alerting makes its durable consumer")
	js, r := connect(t, url, natsauth.Reader)
	r.requireRefused(t, "reader binds alerting's durable", func(ctx context.Context) error {
		_, err := js.Consumer(ctx, eventlog.AlertsStream, "alerting-webhooks")
		return err
	})
	r.requireRefused(t, "reader deletes alerting's durable", func(ctx context.Context) error {
		return js.DeleteConsumer(ctx, eventlog.AlertsStream, "alerting-webhooks")
	})
	_, err = owner.Consumer(t.Context(), eventlog.AlertsStream, "alerting-webhooks")
	require.NoError(t, err, "the durable is still there")
	_, err = js.OrderedConsumer(t.Context(), eventlog.AlertsStream, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err, "the reader still reads the stream")
}

// People's access keys: only ingestion writes them (a forged owner key is
// an organisation taken over); every service reads and watches them.
func TestOnlyIngestionWritesAccessKeys(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	ing, _ := connect(t, url, natsauth.Ingestion)
	kv, err := eventlog.OpenBucket(t.Context(), ing, jetstream.KeyValueConfig{Bucket: natsauth.AccessKeys})
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "acme.k1", []byte("issued"))
	require.NoError(t, err)
	for _, id := range []string{natsauth.Ledger, natsauth.Reporting, natsauth.Alerting} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" puts an access key", func(ctx context.Context) error {
			_, err := js.Publish(ctx, "$KV."+natsauth.AccessKeys+".victim.forged", []byte(`{"org":"victim","role":"owner"}`))
			return err
		})
		kv, err := js.KeyValue(t.Context(), natsauth.AccessKeys)
		require.NoError(t, err, "%s reads the bucket", id)
		w, err := kv.WatchAll(t.Context())
		require.NoError(t, err, "%s watches the bucket", id)
		entry := <-w.Updates()
		require.NotNil(t, entry, id)
		require.Equal(t, "issued", string(entry.Value()))
		require.NoError(t, w.Stop())
	}
	js, r := connect(t, url, natsauth.Reader)
	r.requireRefused(t, "reader opens the access keys", func(ctx context.Context) error {
		_, err := js.KeyValue(ctx, natsauth.AccessKeys)
		return err
	})
}

// The ledger replicas' membership: ingestion watches it to send each pool's
// calls to its owner, and cannot announce a replica of its own (a forged
// member would draw launches to an address of the forger's choosing).
func TestIngestionReadsButCannotJoinTheLedgerRing(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	led, _ := connect(t, url, natsauth.Ledger)
	kv, err := eventlog.OpenBucket(t.Context(), led, jetstream.KeyValueConfig{Bucket: natsauth.LedgerMembers})
	require.NoError(t, err)
	_, err = kv.Put(t.Context(), "r1", []byte("127.0.0.1:7071"))
	require.NoError(t, err)
	ing, r := connect(t, url, natsauth.Ingestion)
	kv, err = ing.KeyValue(t.Context(), natsauth.LedgerMembers)
	require.NoError(t, err, "ingestion reads the members")
	w, err := kv.WatchAll(t.Context())
	require.NoError(t, err, "ingestion watches the members")
	entry := <-w.Updates()
	require.NotNil(t, entry)
	require.Equal(t, "127.0.0.1:7071", string(entry.Value()))
	require.NoError(t, w.Stop())
	r.requireRefused(t, "ingestion announces a replica", func(ctx context.Context) error {
		_, err := ing.Publish(ctx, "$KV."+natsauth.LedgerMembers+".forged", []byte("evil:1"))
		return err
	})
}

// Partition streams are granted like the stream they split: the ledger
// creates and appends LEDGER-<p>, ingestion USAGE-<p>, neither the other's;
// the readers list stream names and read the last partition.
func TestPartitionStreamsFollowTheirOwners(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := provisioned(t)
	last := natsauth.LedgerStreams[len(natsauth.LedgerStreams)-1]
	ing, r := connect(t, url, natsauth.Ingestion)
	r.requireRefused(t, "ingestion creates "+last, func(ctx context.Context) error {
		return eventlog.Provision(ctx, ing, eventlog.StreamOptions{Partitions: 32}, last)
	})
	require.NoError(t, eventlog.Provision(ctx, ing, eventlog.StreamOptions{Partitions: 32}, natsauth.UsageStreams[32]))
	ledger, _ := connect(t, url, natsauth.Ledger)
	require.NoError(t, eventlog.Provision(ctx, ledger, eventlog.StreamOptions{Partitions: 32}, last))
	_, err := eventlog.Append(ctx, ledger, "ledger.31.acme.design", &v1.Event{EventId: "e-0000001", OrgId: "acme", TeamId: "design"}, nil)
	require.NoError(t, err)
	for _, id := range []string{natsauth.Reporting, natsauth.Alerting, natsauth.Reader} {
		js, _ := connect(t, url, id)
		names := js.StreamNames(ctx, jetstream.WithStreamListSubject("ledger.>"))
		var got []string
		for n := range names.Name() {
			got = append(got, n)
		}
		require.NoError(t, names.Err(), id)
		require.ElementsMatch(t, []string{eventlog.LedgerStream, last}, got, id)
		n, err := eventlog.ReadSubject(ctx, js, last, "ledger.31.acme.design", 0, func(eventlog.Stored) error { return nil })
		require.NoError(t, err, id)
		require.EqualValues(t, 1, n, id)
	}
}

// The ledger spreads the partition streams' leaders: it may ask the leader
// of any LEDGER-<p> or USAGE-<p> to step down and read USAGE-<p>'s info,
// nothing more (not the legacy streams, not ALERTS); no other service may.
func TestOnlyTheLedgerMovesPartitionLeaders(t *testing.T) {
	t.Parallel()
	url := provisioned(t)
	ing, _ := connect(t, url, natsauth.Ingestion)
	require.NoError(t, eventlog.Provision(t.Context(), ing, eventlog.StreamOptions{Partitions: 32}, natsauth.UsageStreams[32]))
	stepDown := func(js jetstream.JetStream, stream string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, []byte(`{"placement":{"preferred":"x"}}`))
			return err
		}
	}
	ledger, r := connect(t, url, natsauth.Ledger)
	for _, s := range []string{natsauth.LedgerStreams[1], natsauth.LedgerStreams[32], natsauth.UsageStreams[1], natsauth.UsageStreams[32]} {
		// A single server answers (it is no cluster): the request was allowed.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		require.NoError(t, stepDown(ledger, s)(ctx), s)
		cancel()
	}
	_, err := ledger.Stream(t.Context(), natsauth.UsageStreams[32])
	require.NoError(t, err, "the ledger reads a USAGE partition's leader")
	for _, s := range []string{natsauth.LedgerStream, natsauth.UsageStream, natsauth.AlertsStream} {
		r.requireRefused(t, "ledger steps down "+s, stepDown(ledger, s))
	}
	for _, id := range []string{natsauth.Ingestion, natsauth.Reporting, natsauth.Alerting, natsauth.Reader} {
		js, r := connect(t, url, id)
		r.requireRefused(t, id+" steps down LEDGER-0", stepDown(js, natsauth.LedgerStreams[1]))
	}
}
