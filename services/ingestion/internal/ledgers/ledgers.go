// Package ledgers follows the ledger ring (the replicas announced in the
// LEDGER_MEMBERS bucket, read-only) and sends each pool's calls to the
// replica that owns it by libs/ring's rule, the one the replicas apply, so no
// replica has to forward them. While no replica is known (the ledger runs
// without a ring, or NATS lost the bucket) calls go to -ledger-addr.
package ledgers

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/outage"
	"github.com/tokenmeter/tokenmeter/libs/ring"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ingestion/internal/launch"
)

// closeAfter is how long a connection to a replica that left stays open:
// its calls in flight finish (a stopping replica finishes them) instead of
// failing with Canceled.
const closeAfter = 15 * time.Second

var replicas = telemetry.Must(otel.Meter("github.com/tokenmeter/tokenmeter/services/ingestion/internal/ledgers").Int64UpDownCounter(
	"tokenmeter.ingestion.ledger_replicas", metric.WithDescription("Ledger replicas in ingestion's view of the ring")))

// Zero makes the replicas gauge exist at 0 from the start, ring or not, so
// dashboards and rules see it before the first replica joins.
func Zero() { replicas.Add(context.Background(), 0) }

// Ring is the ledger replicas as ingestion sees them: launch.Ledgers.
type Ring struct {
	seed launch.Replica
	ring *ring.Ring
	dial func(addr string) (*grpc.ClientConn, error)
	log  *slog.Logger
	// missing logs once that the ring cannot be read and once that it can.
	missing *outage.Tracker

	mu    sync.RWMutex
	conns map[string]member // by replica id
}

// member is a replica in the view and its connection.
type member struct {
	addr    string
	conn    *grpc.ClientConn
	replica launch.Replica
}

// New calls seed while no replica is known and dials the others with dial.
func New(seed v1.LedgerServiceClient, dial func(addr string) (*grpc.ClientConn, error), now func() time.Time, log *slog.Logger) *Ring {
	return &Ring{
		seed: launch.NewReplica(launch.SeedID, seed), ring: ring.New("", ring.StaleAfter, now), dial: dial, log: log,
		missing: outage.New(log, "ledger ring unreadable: calls go to -ledger-addr", "ledger ring readable again"),
		conns:   map[string]member{},
	}
}

// Owner is the live replica that owns the pool (the next one while it has
// no connection), or the seed.
func (r *Ring) Owner(org, team string) launch.Replica {
	if m, ok := r.first(org, team, ""); ok {
		return m
	}
	return r.seed
}

// Other is the replica that takes the pool when failed is gone, or the seed.
func (r *Ring) Other(org, team, failed string) (launch.Replica, bool) {
	if m, ok := r.first(org, team, failed); ok {
		return m, true
	}
	return r.seed, failed != launch.SeedID
}

// first is the best-ranked live replica for the pool other than skip.
func (r *Ring) first(org, team, skip string) (launch.Replica, bool) {
	ranked := r.ring.Ranked(ring.PoolKey(org, team))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range ranked {
		if c, ok := r.conns[m.ID]; ok && m.ID != skip {
			return c.replica, true
		}
	}
	return launch.Replica{}, false
}

// Run follows the ring until ctx ends, then closes the connections.
func (r *Ring) Run(ctx context.Context, js jetstream.JetStream) {
	defer r.closeAll()
	for ctx.Err() == nil {
		if err := r.follow(ctx, js); err != nil && ctx.Err() == nil {
			r.missing.Fail(ctx, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(ring.AnnounceInterval):
		}
	}
}

// follow watches the members bucket until ctx ends or NATS reconnected (a
// restarted server's bucket is a new one, which the next watch follows).
func (r *Ring) follow(ctx context.Context, js jetstream.JetStream) error {
	reconnects := js.Conn().Stats().Reconnects
	kv, err := js.KeyValue(ctx, ring.MembersBucket)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	r.missing.OK(ctx)
	tick := time.NewTicker(ring.AnnounceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			r.sync(ctx) // members that stopped announcing go stale
			if js.Conn().Stats().Reconnects != reconnects {
				return nil
			}
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("members watch ended")
			}
			if e != nil {
				r.ring.Apply(e.Key(), e.Value(), e.Operation() == jetstream.KeyValuePut)
			}
			r.sync(ctx)
		}
	}
}

// sync dials the replicas that joined and lets go of those that left,
// logging each once.
func (r *Ring) sync(ctx context.Context) {
	live := map[string]string{}
	for _, m := range r.ring.Live() {
		live[m.ID] = m.Addr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.conns {
		if live[id] != c.addr {
			delete(r.conns, id)
			time.AfterFunc(closeAfter, func() { _ = c.conn.Close() })
			replicas.Add(ctx, -1)
			r.log.WarnContext(ctx, "ledger replica left ingestion's view: its pools go to the others", "replica", id, "addr", c.addr)
		}
	}
	for id, addr := range live {
		if _, ok := r.conns[id]; ok || addr == "" {
			continue
		}
		conn, err := r.dial(addr)
		if err != nil {
			r.log.WarnContext(ctx, "ledger replica not dialled", "replica", id, "addr", addr, "err", err)
			continue
		}
		r.conns[id] = member{addr: addr, conn: conn, replica: launch.NewReplica(id, v1.NewLedgerServiceClient(conn))}
		replicas.Add(ctx, 1)
		r.log.InfoContext(ctx, "ledger replica joined ingestion's view", "replica", id, "addr", addr)
	}
}

func (r *Ring) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.conns {
		_ = c.conn.Close()
		delete(r.conns, id)
		replicas.Add(context.Background(), -1)
	}
}

// Replicas lists the ids of the replicas in the view.
func (r *Ring) Replicas() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.conns))
	for id := range r.conns {
		ids = append(ids, id)
	}
	return ids
}
