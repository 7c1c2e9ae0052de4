package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// ErrConflict means the subject moved past the expected sequence: another
// writer appended first. The caller reloads and decides again.
var ErrConflict = errors.New("subject sequence moved: another writer appended first")

// Appended says where an event landed.
type Appended struct {
	Sequence uint64
	// Duplicate is true when JetStream had already stored this event id.
	Duplicate bool
}

// Append publishes ev on subject and waits for JetStream's acknowledgement.
// expectLast, when non-nil, is the subject's last sequence the decision was
// made on (0: the subject must be empty); a mismatch returns ErrConflict.
func Append(ctx context.Context, js jetstream.JetStream, subject string, ev *v1.Event, expectLast *uint64) (Appended, error) {
	// The encoding goes into a pooled buffer: a synchronous publish has copied
	// the message into the connection's buffer by the time it returns. The
	// expected sequence is a header set here rather than a PublishOpt, which
	// would cost an options slice, a closure and jetstream's option struct.
	buf := marshalBufs.Get().(*[]byte)
	defer putMarshalBuf(buf)
	msg, err := newMsg(ctx, subject, ev, (*buf)[:0], expectLast)
	if err != nil {
		return Appended{}, err
	}
	*buf = msg.Data[:0] // keep the grown buffer, if marshalling grew it
	ack, err := js.PublishMsg(ctx, msg)
	if err != nil {
		if IsConflict(err) {
			return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, ErrConflict)
		}
		return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, err)
	}
	return Appended{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// marshalBufs holds encoding buffers for Append.
var marshalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuf bounds the buffers kept, so one huge event does not pin its
// buffer in the pool.
const maxPooledBuf = 64 << 10

func putMarshalBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		marshalBufs.Put(b)
	}
}

// IsConflict reports whether err is JetStream's "wrong last sequence": code
// 10071 on a single server, 10164 on a replicated stream. nats.go's
// ErrKeyExists matches only the first, so the codes are checked here.
func IsConflict(err error) bool {
	if errors.Is(err, ErrConflict) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}
