package launch

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Coalescer sends concurrent launches of one organisation whose pools one
// ledger replica owns to it together, in AuthorizeBatch calls: a launch that
// finds a call free goes at once (alone, in an Authorize call, when nothing
// else waits, so a quiet system adds no delay); launches arriving while
// every call is in flight queue and go together in the next. Each launch
// still gets its own answer, and the ledger decides each exactly as
// Authorize would, deduplicated by its event id, so a launcher's retry is as
// safe as before.
type Coalescer struct {
	ledgers  Ledgers
	maxBatch int
	maxCalls int
	timeout  time.Duration

	mu     sync.Mutex
	queues map[dest]*queue
	// unary is set once the ledger answered Unimplemented (an older ledger):
	// launches go one call each from then on.
	unary atomic.Bool
}

// dest is where a batch goes: one organisation's calls (a call acts for one)
// to one ledger replica.
type dest struct{ org, replica string }

// queue is the launches waiting for a call to one dest.
type queue struct {
	replica Replica
	pending []*waiting
	calls   int // calls in flight
}

// waiting is one launch and, once done is closed, its answer.
type waiting struct {
	ctx  context.Context
	req  *v1.AuthorizeRequest
	res  *v1.LaunchResponse
	err  error
	done chan struct{}
}

// NewCoalescer sends at most maxBatch launches per call and keeps at most
// maxCalls calls in flight per organisation and replica; each launch may
// take timeout, its wait for a call included.
func NewCoalescer(ledgers Ledgers, maxBatch, maxCalls int, timeout time.Duration) *Coalescer {
	return &Coalescer{ledgers: ledgers, maxBatch: max(1, maxBatch), maxCalls: max(1, maxCalls), timeout: timeout,
		queues: map[dest]*queue{}}
}

// Authorize asks the ledger to decide req for org, within the coalescer's
// timeout from now: the wait for a call counts, since a launch queued behind
// calls that each take the timeout would otherwise wait several. The error is
// a gRPC status. req is the caller's to give: it may be changed (its trace
// context).
func (c *Coalescer) Authorize(ctx context.Context, org string, req *v1.AuthorizeRequest) (*v1.LaunchResponse, error) {
	ctx, cancel := within(ctx, c.timeout)
	defer cancel()
	if c.unary.Load() {
		return authorizeOne(ctx, c.ledgers, org, req)
	}
	owner := c.ledgers.Owner(org, req.GetLaunch().GetTeamId())
	to := dest{org: org, replica: owner.ID}
	w := c.enqueue(ctx, to, owner, req)
	if w == nil {
		// This caller takes the free call; whoever queued meanwhile goes next,
		// on a goroutine of its own so this launch's answer is not held up.
		res, err := c.alone(ctx, org, req)
		if next := c.next(to); next != nil {
			go c.drain(to, owner, next)
		}
		return res, err
	}
	select {
	case <-w.done:
		return w.res, w.err
	case <-ctx.Done():
		// The decision may still be made; a retry with the same event id gets it.
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// enqueue takes a free call for the launch req of the caller ctx (nil: it
// goes at once, and alone, as nothing waits while a call is free), or queues
// it for the next call to take and returns its place in the queue.
func (c *Coalescer) enqueue(ctx context.Context, to dest, r Replica, req *v1.AuthorizeRequest) *waiting {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[to]
	if q == nil {
		q = &queue{replica: r}
		c.queues[to] = q
	}
	if q.calls < c.maxCalls {
		q.calls++
		return nil
	}
	w := newWaiting(ctx, req)
	q.pending = append(q.pending, w)
	return w
}

// newWaiting is the place in a queue of the launch req of the caller ctx.
func newWaiting(ctx context.Context, req *v1.AuthorizeRequest) *waiting {
	if trace.SpanContextFromContext(ctx).IsValid() {
		// The batch call carries one trace; each launch carries its own.
		req.TraceContext = map[string]string{}
		otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(req.TraceContext))
	}
	return &waiting{ctx: ctx, req: req, done: make(chan struct{})}
}

// alone decides a launch that found a call free, on its caller's goroutine
// and context, with Authorize.
func (c *Coalescer) alone(ctx context.Context, org string, req *v1.AuthorizeRequest) (*v1.LaunchResponse, error) {
	return authorizeOne(ctx, c.ledgers, org, req)
}

// next returns the next batch for a call that finished, keeping the call;
// nil when nothing waits, and the call is free again.
func (c *Coalescer) next(to dest) []*waiting {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[to]
	if len(q.pending) == 0 {
		q.calls--
		if q.calls == 0 {
			delete(c.queues, to)
		}
		return nil
	}
	return q.take(c.maxBatch)
}

func (q *queue) take(n int) []*waiting {
	n = min(n, len(q.pending))
	batch := make([]*waiting, n)
	copy(batch, q.pending)
	clear(q.pending[:n])
	q.pending = q.pending[n:]
	if len(q.pending) == 0 {
		q.pending = nil // let the backing array go
	}
	return batch
}

// drain sends batches until none waits.
func (c *Coalescer) drain(to dest, r Replica, batch []*waiting) {
	for ; batch != nil; batch = c.next(to) {
		c.send(to, r, batch)
	}
}

// send makes one call for batch to r and answers each launch of it.
func (c *Coalescer) send(to dest, r Replica, batch []*waiting) {
	live, timeout := c.stillWaiting(batch)
	if len(live) == 0 {
		return
	}
	// The call serves several callers: it carries the first one's values
	// (trace) and outlives none but the last of their deadlines; each
	// launch's own timeout stops its decision once its caller has gone.
	base, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), timeout)
	defer cancel()
	ctx := auth.ActingFor(base, to.org)
	r.count(ctx, len(live), false)
	resp, err := decide(ctx, r, live)
	if status.Code(err) == codes.Unavailable && ctx.Err() == nil {
		// The owner is gone (or going): the batch once more elsewhere, each
		// launch deduplicated by its event id should the owner have decided it.
		if other, ok := c.ledgers.Other(to.org, live[0].req.GetLaunch().GetTeamId(), r.ID); ok {
			other.count(ctx, len(live), true)
			resp, err = decide(ctx, other, live)
		}
	}
	if len(live) > 1 && status.Code(err) == codes.Unimplemented {
		c.unary.Store(true)
		var wg sync.WaitGroup
		for _, w := range live {
			wg.Go(func() { c.one(base, to.org, w) })
		}
		wg.Wait()
		return
	}
	answer(live, resp, err)
}

// decide makes the call that decides live at r: Authorize for a lone launch,
// which costs the ledger and ingestion less than a batch of one (no batch
// envelope, no span of its own per launch: README, Performance), else
// AuthorizeBatch. Either way its answer is a batch's: one outcome a launch.
func decide(ctx context.Context, r Replica, live []*waiting) (*v1.AuthorizeBatchResponse, error) {
	if len(live) == 1 {
		resp, err := r.Client.Authorize(ctx, live[0].req)
		if err != nil {
			return nil, err
		}
		return &v1.AuthorizeBatchResponse{Outcomes: []*v1.AuthorizeOutcome{{Result: resp.GetResult()}}}, nil
	}
	req := &v1.AuthorizeBatchRequest{Launches: make([]*v1.AuthorizeRequest, len(live))}
	for i, w := range live {
		req.Launches[i] = w.req
	}
	return r.Client.AuthorizeBatch(ctx, req)
}

// stillWaiting answers the launches of batch whose callers have gone and
// returns the others, each told when its caller stops waiting, and how long
// their call may take.
func (c *Coalescer) stillWaiting(batch []*waiting) ([]*waiting, time.Duration) {
	live := batch[:0:0]
	timeout, bounded := time.Duration(0), true
	for _, w := range batch {
		if w.ctx.Err() != nil {
			close(w.done) // its caller has gone: nothing to decide for it
			continue
		}
		live = append(live, w)
		d, ok := w.ctx.Deadline()
		bounded = bounded && ok
		left := time.Until(d)
		timeout = max(timeout, left)
		if ok {
			// The call lasts for the most patient caller: each launch
			// tells the ledger when its own caller stops waiting.
			w.req.Timeout = durationpb.New(max(left, 0))
		}
	}
	if !bounded || timeout > c.timeout {
		timeout = c.timeout
	}
	return live, timeout
}

// answer gives each launch of live its outcome in resp, or err.
func answer(live []*waiting, resp *v1.AuthorizeBatchResponse, err error) {
	if err == nil && len(resp.GetOutcomes()) != len(live) {
		err = status.Errorf(codes.Internal, "ledger answered %d of %d launches", len(resp.GetOutcomes()), len(live))
	}
	for i, w := range live {
		if err != nil {
			w.err = err
		} else if o := resp.GetOutcomes()[i]; o.GetErrorCode() != int32(codes.OK) {
			w.err = status.Error(codes.Code(o.GetErrorCode()), o.GetErrorMessage())
		} else {
			w.res = o.GetResult()
		}
		close(w.done)
	}
}

// one decides w alone, with Authorize.
func (c *Coalescer) one(ctx context.Context, org string, w *waiting) {
	w.res, w.err = authorizeOne(ctx, c.ledgers, org, w.req)
	close(w.done)
}

// authorizeOne decides req alone, with Authorize at its pool's owner.
func authorizeOne(ctx context.Context, l Ledgers, org string, req *v1.AuthorizeRequest) (*v1.LaunchResponse, error) {
	resp, err := ask(ctx, l, org, req.GetLaunch().GetTeamId(), func(ctx context.Context, c v1.LedgerServiceClient) (*v1.AuthorizeResponse, error) {
		return c.Authorize(ctx, req)
	})
	return resp.GetResult(), err
}
