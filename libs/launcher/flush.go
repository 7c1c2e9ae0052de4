package launcher

import (
	"context"
	"fmt"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// FlushBatch is how many queued events go in one IngestBatch.
const FlushBatch = 500

// Flushed is what a Flush sent.
type Flushed struct {
	// Results holds the service's answer to every event sent, in order;
	// an event the service refused for good carries its error and is
	// dropped from the queue all the same.
	Results []*v1.OfflineEventResult
}

// Flush sends the queued events through IngestBatch, in order, and removes
// each once answered. When the service is unreachable it stops and leaves
// the rest queued: a batch is resent whole, and the service answers events
// it already took the same way, without charging them again.
func (c *Client) Flush(ctx context.Context) (Flushed, error) {
	var out Flushed
	if c.queue == nil {
		return out, nil
	}
	for {
		batch, err := c.queue.Peek(FlushBatch)
		if err != nil || len(batch) == 0 {
			return out, err
		}
		req := &v1.IngestBatchRequest{}
		for _, q := range batch {
			req.Events = append(req.Events, q.Event)
		}
		resp, err := call(ctx, c.retry, func(ctx context.Context) (*v1.IngestBatchResponse, error) { return c.api.IngestBatch(ctx, req) })
		if err != nil {
			return out, fmt.Errorf("flush %d offline events: %w", len(batch), err)
		}
		results := resp.GetResults()
		if len(results) > len(batch) {
			results = results[:len(batch)]
		}
		done := make([]uint64, len(results))
		for i := range results {
			done[i] = batch[i].Pos
		}
		if err := c.queue.Remove(done...); err != nil {
			return out, err
		}
		out.Results = append(out.Results, results...)
		if len(results) < len(batch) {
			return out, fmt.Errorf("flush: %d of %d offline events answered", len(results), len(batch))
		}
	}
}
