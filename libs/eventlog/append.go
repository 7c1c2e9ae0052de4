package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
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

// Append publishes ev on subject with jetstream.PublishMsg and waits for
// JetStream's acknowledgement. expectLast, when non-nil, is the subject's
// last sequence the decision was made on (0: the subject must be empty); a
// mismatch returns ErrConflict. The message, its header map and its
// encoding buffer are recycled: a synchronous publish has copied them into
// the connection's buffer by the time it returns.
func Append(ctx context.Context, js jetstream.JetStream, subject string, ev *v1.Event, expectLast *uint64) (_ Appended, err error) {
	defer observeAppend(ctx, subject, time.Now(), &err)
	m := appendMsgs.Get().(*appendMsg)
	defer m.release()
	if err := m.fill(ctx, subject, ev, expectLast); err != nil {
		return Appended{}, err
	}
	ack, err := js.PublishMsg(ctx, &m.msg)
	if err != nil {
		if IsConflict(err) {
			return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, ErrConflict)
		}
		return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, err)
	}
	return Appended{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}

// appendMsg is what one Append builds and recycles: the message, its header
// map and the values the map's slices point into, and the encoding buffer.
type appendMsg struct {
	msg  nats.Msg
	hdr  nats.Header
	vals [4]string
	buf  []byte
}

var appendMsgs = sync.Pool{New: func() any {
	return &appendMsg{hdr: make(nats.Header, 5), buf: make([]byte, 0, 512)}
}}

// maxPooledBuf bounds the buffers kept, so one huge event does not pin its
// buffer in the pool.
const maxPooledBuf = 64 << 10

// fill makes m the message of ev (see buildMsg), encoding into m's buffer
// and headers (emptied by release).
func (m *appendMsg) fill(ctx context.Context, subject string, ev *v1.Event, expectLast *uint64) error {
	data, err := buildMsg(ctx, &m.msg, m.hdr, &m.vals, subject, ev, m.buf[:0], expectLast)
	if err != nil {
		return err
	}
	m.buf = data[:0] // keep the grown buffer, if marshalling grew it
	return nil
}

// release returns m to the pool, keeping none of its event's strings alive
// and no header of it (a trace context among them).
func (m *appendMsg) release() {
	if cap(m.buf) > maxPooledBuf {
		return
	}
	m.msg = nats.Msg{}
	m.vals = [4]string{}
	clear(m.hdr)
	appendMsgs.Put(m)
}

// IsConflict reports whether err is JetStream's "wrong last sequence": code
// 10071 on a single server, 10164 on a replicated stream (or 10158, see
// errCodeDuplicateInProcess). nats.go's
// ErrKeyExists matches only the first, so the codes are checked here.
func IsConflict(err error) bool {
	if err == nil {
		return false // before errors.As, whose target would escape
	}
	if errors.Is(err, ErrConflict) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant ||
		apiErr.ErrorCode == errCodeDuplicateInProcess
}

// errCodeDuplicateInProcess is a replicated stream's answer to an event id
// that another publish is appending at this very moment (code 10158, "duplicate
// message id is in process"; nats.go names no constant for it). For a writer
// it is a conflict: the subject is moving, so catch up and decide again, by
// when the other append is stored or gone.
const errCodeDuplicateInProcess jetstream.ErrorCode = 10158
