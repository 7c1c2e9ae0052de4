package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/subject"
)

// DiscoverEvery is how often a Follower looks for partition streams created
// after it started (another replica raised the number of partitions).
const DiscoverEvery = 5 * time.Second

// Follower follows some subjects on every stream of one kind — the legacy
// LEDGER and each LEDGER-<p> that exists — with one ordered consumer each,
// from the beginning, and picks up partition streams created later. The
// handler is called from one goroutine per stream; msg's metadata names the
// stream.
type Follower struct {
	js     jetstream.JetStream
	base   string
	filter func(p int) string
	handle func(jetstream.Msg)
	log    *slog.Logger

	mu        sync.Mutex
	following map[string]*followed
	stop      chan struct{}
}

type followed struct {
	cc jetstream.ConsumeContext
	// caughtUp is closed once the consumer handled what the stream held
	// when it started: target messages, known once its info is read.
	caughtUp chan struct{}
	mu       sync.Mutex
	handled  uint64
	target   uint64
	known    bool
}

// count notes handled messages (1 from the handler) or, with target, the
// number to handle before the stream is caught up.
func (fw *followed) count(handled uint64, target *uint64) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.handled += handled
	if target != nil {
		fw.target, fw.known = *target, true
	}
	if fw.known && fw.handled >= fw.target {
		select {
		case <-fw.caughtUp:
		default:
			close(fw.caughtUp)
		}
	}
}

// FollowStreams starts following filter(p) on stream base (p =
// subject.Unpartitioned) and on every partition stream base-<p>, and returns
// once each has handled what it held at the start (or ctx ends). Stream
// names are listed by their subjects' first token, base in lower case.
func FollowStreams(ctx context.Context, js jetstream.JetStream, base string, filter func(p int) string, handle func(jetstream.Msg), log *slog.Logger) (*Follower, error) {
	f := &Follower{js: js, base: base, filter: filter, handle: handle, log: log,
		following: map[string]*followed{}, stop: make(chan struct{})}
	if err := f.discover(ctx); err != nil {
		f.Stop()
		return nil, err
	}
	f.mu.Lock()
	var waits []chan struct{}
	for _, fw := range f.following {
		waits = append(waits, fw.caughtUp)
	}
	f.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			f.Stop()
			return nil, fmt.Errorf("follow %s: %w", base, ctx.Err())
		}
	}
	go f.rediscover(context.WithoutCancel(ctx))
	return f, nil
}

// discover follows every stream of the kind not followed yet.
func (f *Follower) discover(ctx context.Context) error {
	names := f.js.StreamNames(ctx, jetstream.WithStreamListSubject(strings.ToLower(f.base)+".>"))
	var found []string
	for name := range names.Name() {
		if _, ok := subject.PartitionOfStream(name, f.base); ok {
			found = append(found, name)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("list %s streams: %w", f.base, err)
	}
	for _, name := range found {
		if err := f.Ensure(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// Ensure follows stream name (a stream of the kind) if it is not followed yet.
func (f *Follower) Ensure(ctx context.Context, name string) error {
	p, ok := subject.PartitionOfStream(name, f.base)
	if !ok {
		return fmt.Errorf("follow %s: not a %s stream", name, f.base)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.following[name]; ok || f.stopped() {
		return nil
	}
	cons, err := f.js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{FilterSubjects: []string{f.filter(p)}})
	if err != nil {
		return fmt.Errorf("follow %s: %w", name, err)
	}
	fw := &followed{caughtUp: make(chan struct{})}
	if fw.cc, err = cons.Consume(func(msg jetstream.Msg) { f.handle(msg); fw.count(1, nil) }); err != nil {
		return fmt.Errorf("follow %s: %w", name, err)
	}
	// An ordered consumer exists on the server once it consumes: what it
	// delivered by now and what is pending are the stream's contents at start.
	info, err := cons.Info(ctx)
	if err != nil {
		fw.cc.Stop()
		return fmt.Errorf("follow %s: %w", name, err)
	}
	target := info.Delivered.Consumer + info.NumPending
	fw.count(0, &target)
	f.following[name] = fw
	return nil
}

// rediscover looks for new streams every DiscoverEvery until Stop or until
// the connection is closed.
func (f *Follower) rediscover(ctx context.Context) {
	tick := time.NewTicker(DiscoverEvery)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
			if f.js.Conn().IsClosed() {
				return // a service that never stops its followers closed NATS
			}
			dctx, cancel := context.WithTimeout(ctx, DiscoverEvery)
			if err := f.discover(dctx); err != nil && f.log != nil {
				f.log.Warn("look for new partition streams", "stream", f.base, "err", err)
			}
			cancel()
		}
	}
}

// Streams names the streams followed.
func (f *Follower) Streams() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.following))
	for name := range f.following {
		out = append(out, name)
	}
	return out
}

func (f *Follower) stopped() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

// Stop stops following every stream.
func (f *Follower) Stop() {
	f.mu.Lock()
	if f.stopped() {
		f.mu.Unlock()
		return
	}
	close(f.stop)
	for _, fw := range f.following {
		fw.cc.Stop()
	}
	f.mu.Unlock()
}
