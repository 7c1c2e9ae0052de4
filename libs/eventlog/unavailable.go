package eventlog

import (
	"context"
	"errors"
	"fmt"
)

// ErrUnavailable marks a failure of the event log itself: unreachable, timed
// out, or refusing a request. The caller may retry later with the same event
// id; an edge maps it, and only it, to Unavailable.
var ErrUnavailable = errors.New("event log unavailable")

// Unavailable marks err, returned by a call to the log made with ctx, as
// ErrUnavailable; nil stays nil, and so does the error of a call whose ctx
// ended (the caller's deadline or cancellation, not the log's failure).
func Unavailable(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
