package store

import (
	"context"
	"path"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/telemetry"
)

// The store's instruments, made once on the global meter provider (which
// hands them to the one telemetry.Setup installs). The pool core records
// nothing: the counts are taken here, where decisions meet the log.
var (
	meter     = otel.Meter("github.com/tokenmeter/tokenmeter/services/ledger/internal/store")
	conflicts = telemetry.Must(meter.Int64Counter("tokenmeter.ledger.conflicts",
		metric.WithDescription("Appends refused because another writer moved the pool's subject first (wrong expected last sequence)")))
	retries = telemetry.Must(meter.Int64Counter("tokenmeter.ledger.retries",
		metric.WithDescription("Decisions made again on fresher state after the log moved under them")))
	decisionDuration = telemetry.Must(meter.Float64Histogram("tokenmeter.ledger.decision.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from a decision's arrival at its pool to its events being durable, by the RPC that asked")))
	_ = telemetry.Must(meter.Int64ObservableGauge("tokenmeter.ledger.pools",
		metric.WithDescription("Pools held in memory"), metric.WithInt64Callback(observePools)))
	_ = telemetry.Must(meter.Float64ObservableGauge("tokenmeter.ledger.snapshot.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest pool snapshot held pools would start from, not yet rewritten (0: none)"),
		metric.WithFloat64Callback(observeSnapshotAge)))
)

// countConflict counts err when it is a conflicting append.
func countConflict(ctx context.Context, err error) {
	if eventlog.IsConflict(err) {
		conflicts.Add(ctx, 1)
	}
}

// rpcOpts holds the attribute option of each RPC name seen: a handful, made once each.
var rpcOpts sync.Map // string -> metric.RecordOption

// observeDecision records a decision that started at start, labelled with
// the RPC whose context it ran in ("" for the store's own, e.g. the sweep).
func observeDecision(ctx context.Context, start time.Time) {
	method, _ := grpc.Method(ctx)
	opt, ok := rpcOpts.Load(method)
	if !ok {
		rpc := ""
		if method != "" {
			rpc = path.Base(method)
		}
		opt, _ = rpcOpts.LoadOrStore(method, metric.WithAttributeSet(attribute.NewSet(attribute.String("rpc", rpc))))
	}
	decisionDuration.Record(ctx, time.Since(start).Seconds(), opt.(metric.RecordOption))
}

// live are the stores of this process not yet closed, observed by the gauges.
var live = struct {
	sync.Mutex
	stores map[*Store]struct{}
}{stores: map[*Store]struct{}{}}

func track(s *Store) {
	// Rare events exist at 0 from the start (see eventlog's zeroCounters).
	conflicts.Add(context.Background(), 0)
	retries.Add(context.Background(), 0)
	live.Lock()
	defer live.Unlock()
	live.stores[s] = struct{}{}
}

// Close stops the store's pools and snapshots counting in the metrics.
func (s *Store) Close() {
	live.Lock()
	defer live.Unlock()
	delete(live.stores, s)
}

func observePools(_ context.Context, o metric.Int64Observer) error {
	live.Lock()
	defer live.Unlock()
	n := 0
	for s := range live.stores {
		s.mu.Lock()
		n += len(s.pools)
		s.mu.Unlock()
	}
	o.Observe(int64(n))
	return nil
}

func observeSnapshotAge(_ context.Context, o metric.Float64Observer) error {
	live.Lock()
	defer live.Unlock()
	var oldest time.Time
	for s := range live.stores {
		if at := s.snapshotsOf().oldest(); !at.IsZero() && (oldest.IsZero() || at.Before(oldest)) {
			oldest = at
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	o.Observe(age)
	return nil
}

// snapshotsOf returns the store's snapshots (nil: none), read under s.mu as
// WithSnapshots sets them after track.
func (s *Store) snapshotsOf() *Snapshots {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshots
}

// snapshotTimes remembers when each pool's latest snapshot was written, as
// loaded or saved by this replica: the gauge's oldest.
type snapshotTimes struct {
	mu sync.Mutex
	at map[string]time.Time // by headKey
}

func (t *snapshotTimes) set(key string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.at == nil {
		t.at = map[string]time.Time{}
	}
	t.at[key] = at
}

// oldest is the earliest time remembered (zero: none, or no snapshots).
func (s *Snapshots) oldest() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.times.mu.Lock()
	defer s.times.mu.Unlock()
	var oldest time.Time
	for _, at := range s.times.at {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	return oldest
}

// countRetry counts a decision's attempt after its first: the log moved
// (a conflict) or already held one of its events.
func countRetry(ctx context.Context, attempt int) {
	if attempt > 0 {
		retries.Add(ctx, 1)
	}
}
