package reporting

import (
	"context"
	"sync"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/subject"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/projector"
)

// runProjectors runs the projector of every stream found so far and, until
// ctx ends, of each partition stream created later. done receives each
// run's end; running is how many were started (final once followDone is
// closed).
func (s *Service) runProjectors(ctx context.Context) (done chan error, running func() int, followDone chan struct{}) {
	// Two bases of at most 1+MaxPartitions streams each: sends never block.
	done = make(chan error, 2*(subject.MaxPartitions+1))
	var mu sync.Mutex
	started := 0
	start := func(p *projector.Projector) {
		mu.Lock()
		started++
		mu.Unlock()
		go func() { done <- s.project(ctx, p) }()
	}
	known := s.projectors()
	names := make([]string, len(known))
	for i, p := range known {
		names[i] = p.Stream()
		start(p)
	}
	followDone = make(chan struct{})
	go func() {
		defer close(followDone)
		s.streams.Follow(ctx, s.cfg.streamScan(), names, func(stream string) bool {
			p, err := s.addStream(ctx, stream)
			if err != nil {
				if ctx.Err() == nil {
					s.log.ErrorContext(ctx, "cannot project a new stream; retrying", "stream", stream, "err", err)
				}
				return false
			}
			s.log.InfoContext(ctx, "projecting a new stream", "stream", stream)
			start(p)
			return true
		}, eventlog.LedgerStream, eventlog.UsageStream)
	}()
	return done, func() int { mu.Lock(); defer mu.Unlock(); return started }, followDone
}

func (s *Service) projectors() []*projector.Projector {
	s.projMu.Lock()
	defer s.projMu.Unlock()
	return append([]*projector.Projector(nil), s.projs...)
}

func (s *Service) projectorOf(stream string) *projector.Projector {
	for _, p := range s.projectors() {
		if p.Stream() == stream {
			return p
		}
	}
	return nil
}

// CaughtUp reports whether every stream of base (LEDGER or USAGE: the
// one-stream layout and each partition) that exists now is projected up to
// its last sequence: by this replica, or as ClickHouse shows for a stream
// another replica projects.
func (s *Service) CaughtUp(ctx context.Context, base string) bool {
	names, err := s.streams.Of(ctx, base)
	if err != nil || len(names) == 0 {
		return false
	}
	for _, name := range names {
		p := s.projectorOf(name)
		if p == nil {
			return false // found by the next scan
		}
		stream, err := s.js.Stream(ctx, name)
		if err != nil {
			return false
		}
		info, err := stream.Info(ctx)
		if err != nil {
			return false
		}
		last := info.State.LastSeq
		if p.CaughtUpTo() >= last {
			continue
		}
		if stored, err := p.Stored(ctx); err != nil || stored < last {
			return false
		}
	}
	return true
}
