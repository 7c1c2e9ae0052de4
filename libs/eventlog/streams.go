// Package eventlog is the shared access to tokenmeter's JetStream event log:
// stream provisioning, subjects, the event envelope on the wire, appends and reads.
package eventlog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// Stream names, as in DESIGN.md; natsauth grants access by them.
const (
	LedgerStream = subject.LedgerStream
	UsageStream  = subject.UsageStream
	AlertsStream = subject.AlertsStream
)

// StreamOptions tunes provisioning; the zero value suits a single dev server.
type StreamOptions struct {
	// Replicas is the JetStream replication factor (3 in production clusters).
	Replicas int
	// DuplicateWindow is JetStream's Nats-Msg-Id dedup window. The ledger does not
	// rely on it alone: pools remember applied event ids much longer.
	DuplicateWindow time.Duration
	// MemoryStorage keeps streams in memory (benchmarks only).
	MemoryStorage bool
	// Update changes existing streams to this configuration (the admin's
	// provisioning); without it Provision only creates the missing ones.
	Update bool
	// Partitions adds the partition streams LEDGER-<p> and USAGE-<p> for p
	// below it (at most subject.MaxPartitions; 0 or 1: none). The legacy
	// LEDGER and USAGE streams are always there: pools placed in them stay.
	Partitions int
	// UsageMaxAge is how long the USAGE streams keep telemetry. 0 keeps it
	// as it is: with Update, the legacy USAGE stream's (so partition streams
	// made later take it too), else forever. CheckUsageMaxAge bounds it.
	UsageMaxAge time.Duration
}

// MinUsageMaxAge is the shortest telemetry retention: reporting projects
// USAGE into ClickHouse, and an outage of reporting or ClickHouse longer
// than the retention loses what aged out meanwhile (reporting logs and counts
// it). A week rides out a long weekend's outage with days to spare.
const MinUsageMaxAge = 7 * 24 * time.Hour

// CheckUsageMaxAge refuses a telemetry retention under MinUsageMaxAge (0,
// keep as is, passes).
func CheckUsageMaxAge(d time.Duration) error {
	if d != 0 && d < MinUsageMaxAge {
		return fmt.Errorf("usage max age %s: want 0 (keep) or at least %s, so that a reporting or ClickHouse outage does not lose telemetry before it is projected", d, MinUsageMaxAge)
	}
	return nil
}

// StreamConfigs returns the configuration of every tokenmeter stream.
func StreamConfigs(o StreamOptions) []jetstream.StreamConfig {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = 2 * time.Minute
	}
	storage := jetstream.FileStorage
	if o.MemoryStorage {
		storage = jetstream.MemoryStorage
	}
	base := func(name, desc string, subjects ...string) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        name,
			Description: desc,
			Subjects:    subjects,
			Storage:     storage,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			Retention:   jetstream.LimitsPolicy,
			Discard:     jetstream.DiscardOld,
		}
	}
	ledgerOf := func(name string) jetstream.StreamConfig {
		c := base(name, "tokenmeter money events, one subject per pool", subject.StreamSubjects(name)...)
		// Atomic batches: on a replicated stream the ledger appends the decisions
		// that queued up on a busy pool as one batch (a group commit, guarded by
		// the expected subject sequence on its first message). Otherwise a
		// decision's events are appended one at a time, each with the expected
		// subject sequence the previous one left (never guarded on the first
		// only), and every event a multi-event decision makes (due expiries before
		// a charge, a move's packs, a merge's assignments) is a fact of its own
		// with its own id, so an interrupted decision is completed, not doubled,
		// when it is decided again.
		c.AllowAtomicPublish = true
		// Money is never discarded to make room: a full stream refuses appends instead.
		c.Discard = jetstream.DiscardNew
		return c
	}
	usageOf := func(name string) jetstream.StreamConfig {
		c := base(name, "tokenmeter launcher telemetry", subject.StreamSubjects(name)...)
		c.MaxAge = o.UsageMaxAge
		return c
	}
	configs := []jetstream.StreamConfig{
		ledgerOf(LedgerStream),
		usageOf(UsageStream),
		base(AlertsStream, "tokenmeter alerts", "alerts.>"),
	}
	for p := range PartitionStreams(o.Partitions) {
		configs = append(configs, ledgerOf(subject.LedgerStreamOf(p)), usageOf(subject.UsageStreamOf(p)))
	}
	return configs
}

// PartitionStreams is how many partition streams of LEDGER and of USAGE a
// deployment of n partitions has: none for n <= 1 (the one-stream layout).
func PartitionStreams(n int) int {
	if n <= 1 {
		return 0
	}
	return min(n, subject.MaxPartitions)
}

// LedgerStreams names the LEDGER streams a ledger of n partitions writes:
// the legacy LEDGER (pools placed before partitions) and LEDGER-0..n-1.
func LedgerStreams(n int) []string {
	names := []string{LedgerStream}
	for p := range PartitionStreams(n) {
		names = append(names, subject.LedgerStreamOf(p))
	}
	return names
}

// UsageStreams names the USAGE streams of n partitions, legacy USAGE first.
func UsageStreams(n int) []string {
	names := []string{UsageStream}
	for p := range PartitionStreams(n) {
		names = append(names, subject.UsageStreamOf(p))
	}
	return names
}

// Provision creates the named streams that are missing, or every tokenmeter
// stream when none is named. It is idempotent: each service provisions the
// streams it owns at every start. With o.Update (the admin identity's
// provisioning, `natsauth provision`) it also brings existing streams to
// today's configuration, never lowering their replication and keeping the
// USAGE limits o leaves unset (see keepLimits).
func Provision(ctx context.Context, js jetstream.JetStream, o StreamOptions, names ...string) error {
	if err := CheckUsageMaxAge(o.UsageMaxAge); err != nil {
		return err
	}
	if o.Update && o.UsageMaxAge == 0 {
		if usage, err := js.Stream(ctx, UsageStream); err == nil {
			o.UsageMaxAge = usage.CachedInfo().Config.MaxAge
		}
	}
	configs := StreamConfigs(o)
	if len(names) > 0 {
		configs = slices.DeleteFunc(configs, func(c jetstream.StreamConfig) bool { return !slices.Contains(names, c.Name) })
		if len(configs) != len(names) {
			return fmt.Errorf("provision streams %v: want names among %s, %s, %s and the partitions of %d", names, LedgerStream, UsageStream, AlertsStream, o.Partitions)
		}
	}
	for _, cfg := range configs {
		existing, err := js.Stream(ctx, cfg.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			_, err = js.CreateStream(ctx, cfg)
		case err == nil && o.Update:
			cfg = keepLimits(cfg, existing.CachedInfo().Config)
			_, err = js.UpdateStream(ctx, cfg)
		}
		if subjectsOverlap(err) {
			return fmt.Errorf("provision stream %s: %w (a log made before partitions: narrow its LEDGER and USAGE once with `natsauth provision`)", cfg.Name, err)
		}
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("provision stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// keepLimits is cfg with what an operator set on the stream as it is and
// cfg leaves unset: its replication where higher, and on a USAGE stream its
// age, size and message limits. LEDGER and ALERTS get no limit, whatever was
// set by hand: a pool is rebuilt from all its events, and alerting reads
// ALERTS to know what it raised (an alert discarded would be raised again).
func keepLimits(cfg, was jetstream.StreamConfig) jetstream.StreamConfig {
	cfg.Replicas = max(cfg.Replicas, was.Replicas)
	if _, usage := subject.PartitionOfStream(cfg.Name, UsageStream); usage {
		cfg.MaxAge = cmp.Or(cfg.MaxAge, was.MaxAge)
		cfg.MaxBytes = cmp.Or(cfg.MaxBytes, was.MaxBytes)
		cfg.MaxMsgs = cmp.Or(cfg.MaxMsgs, was.MaxMsgs)
	}
	return cfg
}

// subjectsOverlap reports JetStream refusing a stream whose subjects another
// captures: a partition stream beside a legacy LEDGER still on "ledger.>".
func subjectsOverlap(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsStreamSubjectOverlap
}

// jsStreamSubjectOverlap is nats-server's JSStreamSubjectOverlapErr.
const jsStreamSubjectOverlap jetstream.ErrorCode = 10065

// OpenBucket creates a key-value bucket, or binds to it when it exists:
// services create their buckets but never change them (see natsauth).
func OpenBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}
