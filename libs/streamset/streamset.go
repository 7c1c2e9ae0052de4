// Package streamset finds the streams a reader of LEDGER or USAGE must
// consume: the one-stream layout's LEDGER itself and the partition streams
// LEDGER-<p> (libs/subject), which coexist after a change of the number of
// partitions, and to which a deployment may add partitions while readers run.
package streamset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// probeTimeout bounds the question for one stream name.
const probeTimeout = 2 * time.Second

// Finder finds the streams one identity reads.
type Finder struct {
	JS jetstream.JetStream
	// Identity is the natsauth identity connected: only the streams its
	// grant names are asked about, since NATS drops a request an identity
	// may not make (it would go unanswered until its timeout).
	Identity string
	Log      *slog.Logger
}

// Of lists the streams of base (LEDGER or USAGE) that exist now: base
// itself first, then its partitions in order. It asks for each possible
// name's info, at most 1 + subject.MaxPartitions requests: readers are
// granted the streams they read by name, not the listing of every stream.
func (f Finder) Of(ctx context.Context, base string) ([]string, error) {
	nameOf, ok := map[string]func(int) string{subject.LedgerStream: subject.LedgerStreamOf, subject.UsageStream: subject.UsageStreamOf}[base]
	if !ok {
		return nil, fmt.Errorf("stream %s has no partitions", base)
	}
	var out []string
	for p := subject.Unpartitioned; p < subject.MaxPartitions; p++ {
		name := nameOf(p)
		if !f.granted(name) {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		_, err := f.JS.Stream(pctx, name)
		cancel()
		switch {
		case err == nil:
			out = append(out, name)
		case errors.Is(err, jetstream.ErrStreamNotFound):
		default:
			return out, fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return out, nil
}

// Await waits, up to wait, until each of bases has at least one stream,
// and returns the streams of every base found then.
func (f Finder) Await(ctx context.Context, wait time.Duration, bases ...string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	logged := false
	for {
		var all []string
		var missing, failed error
		for _, b := range bases {
			names, err := f.Of(ctx, b)
			failed = errors.Join(failed, err)
			if len(names) == 0 {
				missing = errors.Join(missing, fmt.Errorf("no %s stream", b))
			}
			all = append(all, names...)
		}
		if missing == nil && failed == nil {
			return all, nil
		}
		if !logged {
			f.Log.InfoContext(ctx, "waiting for the streams another service provisions", "missing", missing, "err", failed, "max", wait)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("streams after %s (the services that own them provision them at start): %w",
				wait, errors.Join(missing, failed, ctx.Err()))
		case <-time.After(250 * time.Millisecond): // polling another process's start
		}
	}
}

// Follow calls found with each stream of bases not in known, every
// interval until ctx ends, so partitions added later are read too; it
// returns when ctx ends. A failed look is logged once and retried, and so
// is a stream found refuses (returns false).
func (f Finder) Follow(ctx context.Context, every time.Duration, known []string, found func(name string) bool, bases ...string) {
	seen := map[string]bool{}
	for _, n := range known {
		seen[n] = true
	}
	warned := false
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, b := range bases {
			names, err := f.Of(ctx, b)
			if err != nil && ctx.Err() == nil && !warned {
				f.Log.WarnContext(ctx, "looking for new partition streams failed; retrying", "err", err, "every", every)
				warned = true
			}
			for _, n := range names {
				if !seen[n] {
					seen[n] = found(n)
				}
			}
		}
	}
}

// granted reports whether f's identity may read stream name.
func (f Finder) granted(name string) bool {
	g := natsauth.Grants[f.Identity]
	return g.All || slices.Contains(g.ReadStreams, name) || slices.Contains(g.OwnStreams, name)
}
