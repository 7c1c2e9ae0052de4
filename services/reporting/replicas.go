package reporting

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/lease"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// LeaseBucket holds which reporting replica projects which stream.
const LeaseBucket = "REPORTING_LEASES"

// Replication is how several reporting replicas share the projection work:
// each stream is projected by the one replica holding its lease, and every
// replica answers queries.
type Replication struct {
	// ProjectionLease is the lease's TTL: a replica that dies unannounced
	// (kill -9, partition) is taken over within it; 0 projects without a
	// lease (one replica only).
	ProjectionLease time.Duration
	// StreamScan is how often partition streams created since the start
	// are looked for (0: defaultStreamScan).
	StreamScan time.Duration
}

// defaultStreamScan is how often new partition streams are looked for.
const defaultStreamScan = 30 * time.Second

func (r *Replication) streamScan() time.Duration {
	if r.StreamScan <= 0 {
		return defaultStreamScan
	}
	return r.StreamScan
}

func (r *Replication) register(fs *flag.FlagSet) {
	fs.DurationVar(&r.ProjectionLease, "projection-lease", 5*time.Second,
		"TTL of a stream's projection lease: replicas share the streams, a dead one is taken over within it (0: no lease, a single replica)")
	fs.DurationVar(&r.StreamScan, "stream-scan", defaultStreamScan,
		"how often LEDGER and USAGE partition streams created after the start are looked for and projected")
}

func (r *Replication) validate() error {
	if r.ProjectionLease != 0 && r.ProjectionLease < 400*time.Millisecond {
		return fmt.Errorf("-projection-lease %s: want 0 or at least 400ms", r.ProjectionLease)
	}
	if r.StreamScan < 0 || (r.StreamScan > 0 && r.StreamScan < 10*time.Millisecond) || r.StreamScan > time.Hour {
		return fmt.Errorf("-stream-scan %s: want between 10ms and 1h", r.StreamScan)
	}
	return nil
}

// openLeases opens the lease bucket when projections are leased.
func (s *Service) openLeases(ctx context.Context, js jetstream.JetStream) error {
	if s.cfg.ProjectionLease == 0 {
		return nil
	}
	b, err := lease.Open(ctx, js, LeaseBucket, s.cfg.ProjectionLease, s.cfg.Replicas)
	if err != nil {
		return err
	}
	s.leases = b
	host, _ := os.Hostname()
	s.holder = fmt.Sprintf("%s-%s", host, rand.Text()[:8])
	return nil
}

// project runs p: under its stream's lease when there is one.
func (s *Service) project(ctx context.Context, p *projector.Projector) error {
	run := func(ctx context.Context, fence func() time.Time) error {
		s.projecting.Add(1)
		defer s.projecting.Add(-1)
		return p.RunFenced(ctx, fence)
	}
	if s.leases == nil {
		return run(ctx, nil)
	}
	o := lease.Options{Holder: s.holder, TTL: s.cfg.Replication.ProjectionLease, Log: s.log.With("component", "projector")}
	return s.leases.Run(ctx, p.Stream(), o, run)
}

// Projecting is how many streams this replica projects now; other
// replicas hold the others' leases.
func (s *Service) Projecting() int { return int(s.projecting.Load()) }
