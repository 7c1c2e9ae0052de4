package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
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

// Append publishes ev on subject and waits for JetStream's acknowledgement.
// expectLast, when non-nil, is the subject's last sequence the decision was
// made on (0: the subject must be empty); a mismatch returns ErrConflict.
//
// It is JetStream's synchronous publish (jetstream.PublishMsg) made for the
// ledger's hot path: the message, its header map and its encoding buffer are
// recycled (a synchronous request has copied them into the connection's
// buffer by the time it returns), the expected sequence is a header rather
// than a PublishOpt (which costs an options slice, a closure and an option
// struct), a context that can never end waits on a pooled timer instead of a
// context.WithTimeout of its own, and a plain acknowledgement is read without
// encoding/json. Anything else (an error, an unexpected shape) is read and
// reported as jetstream.PublishMsg does.
func Append(ctx context.Context, js jetstream.JetStream, subject string, ev *v1.Event, expectLast *uint64) (_ Appended, err error) {
	defer observeAppend(ctx, subject, time.Now(), &err)
	m := appendMsgs.Get().(*appendMsg)
	defer m.release()
	if err := m.fill(ctx, subject, ev, expectLast); err != nil {
		return Appended{}, err
	}
	var ack Appended
	if nc := js.Conn(); nc != nil {
		ack, err = publish(ctx, nc, js.Options().DefaultTimeout, &m.msg)
	} else { // a JetStream without a connection of its own (a test double)
		var pa *jetstream.PubAck
		if pa, err = js.PublishMsg(ctx, &m.msg); err == nil {
			ack = Appended{Sequence: pa.Sequence, Duplicate: pa.Duplicate}
		}
	}
	if err != nil {
		if IsConflict(err) {
			return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, ErrConflict)
		}
		return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, err)
	}
	return ack, nil
}

// publish is jetstream.PublishMsg without options: the request, retried
// while the stream has no responders (a leader election), then the
// acknowledgement; all within ctx's deadline or, when it has none, timeout
// (as jetstream does). Errors are jetstream's: ErrNoStreamResponse,
// ErrInvalidJSAck, the stream's *jetstream.APIError, context errors.
func publish(ctx context.Context, nc *nats.Conn, timeout time.Duration, msg *nats.Msg) (Appended, error) {
	var deadline time.Time
	if _, ok := ctx.Deadline(); !ok {
		if ctx.Done() == nil {
			// A context that can never end: wait on nats.go's pooled timers
			// until this deadline rather than on a context.WithTimeout made
			// for each append.
			deadline = time.Now().Add(timeout)
		} else {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	resp, err := request(ctx, nc, deadline, msg)
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		wait := jetstream.DefaultPubRetryWait
		if !deadline.IsZero() {
			// ctx can never end: the deadline bounds the wait, as the
			// context.WithTimeout jetstream would have made does.
			if left := time.Until(deadline); left < wait {
				wait = max(left, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		resp, err = request(ctx, nc, deadline, msg)
	}
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return Appended{}, jetstream.ErrNoStreamResponse
		}
		return Appended{}, err
	}
	return readPubAck(resp.Data)
}

// request sends msg and waits for its reply: until deadline when it is set
// (ctx can never end), reporting its passing as context.DeadlineExceeded
// like a context would; otherwise for as long as ctx allows.
func request(ctx context.Context, nc *nats.Conn, deadline time.Time, msg *nats.Msg) (*nats.Msg, error) {
	if deadline.IsZero() {
		return nc.RequestMsgWithContext(ctx, msg)
	}
	left := time.Until(deadline)
	if left <= 0 {
		return nil, context.DeadlineExceeded
	}
	resp, err := nc.RequestMsg(msg, left)
	if errors.Is(err, nats.ErrTimeout) {
		return nil, context.DeadlineExceeded
	}
	return resp, err
}

// pubAckReply is a JetStream publish acknowledgement as encoding/json reads
// it: jetstream's own pubAckResponse, flattened.
type pubAckReply struct {
	Error     *jetstream.APIError `json:"error,omitempty"`
	Stream    string              `json:"stream"`
	Sequence  uint64              `json:"seq"`
	Duplicate bool                `json:"duplicate,omitempty"`
}

// readPubAck reads a publish acknowledgement. The plain one every append
// gets ({"stream":"LEDGER","seq":42}, maybe with "duplicate" and "domain")
// is scanned by hand; anything else goes through encoding/json and gets
// jetstream.PublishMsg's errors.
func readPubAck(data []byte) (Appended, error) {
	if ack, ok := scanPubAck(data); ok {
		return ack, nil
	}
	var r pubAckReply
	if err := json.Unmarshal(data, &r); err != nil {
		return Appended{}, jetstream.ErrInvalidJSAck
	}
	if r.Error != nil {
		return Appended{}, fmt.Errorf("nats: %w", r.Error)
	}
	if r.Stream == "" {
		return Appended{}, jetstream.ErrInvalidJSAck
	}
	return Appended{Sequence: r.Sequence, Duplicate: r.Duplicate}, nil
}

// scanPubAck reads a flat JSON object holding a non-empty "stream" and a
// "seq", and no "error". ok is false for anything else (nested values,
// escapes in keys, a malformed or different reply): the caller then decodes
// it properly.
func scanPubAck(d []byte) (ack Appended, ok bool) {
	i := skipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return ack, false
	}
	i = skipSpace(d, i+1)
	var stream, seq bool
	for i < len(d) && d[i] != '}' {
		key, val, next, good := scanField(d, i)
		if !good || !ack.set(key, val, &stream, &seq) {
			return ack, false
		}
		i = skipSpace(d, next)
		if i < len(d) && d[i] == ',' {
			i = skipSpace(d, i+1)
			if i >= len(d) || d[i] != '"' {
				return ack, false
			}
		} else if i < len(d) && d[i] != '}' {
			return ack, false
		}
	}
	if i >= len(d) || skipSpace(d, i+1) != len(d) {
		return ack, false
	}
	return ack, stream && seq
}

// scanField reads `"key": value` at d[i:] where the value is a string or a
// plain scalar; next is just past the value.
func scanField(d []byte, i int) (key, val []byte, next int, ok bool) {
	if d[i] != '"' {
		return nil, nil, 0, false
	}
	end := i + 1
	for end < len(d) && d[end] != '"' {
		if d[end] < 0x20 || d[end] >= 0x80 || d[end] == '\\' {
			return nil, nil, 0, false // escapes, non-ASCII: let encoding/json read them
		}
		end++
	}
	if end >= len(d) {
		return nil, nil, 0, false
	}
	key = d[i+1 : end]
	i = skipSpace(d, end+1)
	if i >= len(d) || d[i] != ':' {
		return nil, nil, 0, false
	}
	i = skipSpace(d, i+1)
	if i >= len(d) {
		return nil, nil, 0, false
	}
	next, ok = scanValue(d, i)
	if !ok {
		return nil, nil, 0, false
	}
	val = d[i:next]
	if val[0] != '"' && !plainScalar(val) {
		return nil, nil, 0, false
	}
	return key, val, next, true
}

// scanValue returns the end of the string or scalar at d[i:]; an object or
// an array is not a plain acknowledgement.
func scanValue(d []byte, i int) (next int, ok bool) {
	switch c := d[i]; {
	case c == '"':
		i++
		for i < len(d) && d[i] != '"' {
			if d[i] < 0x20 || d[i] == '\\' {
				return 0, false // escapes: let encoding/json read them
			}
			i++
		}
		if i >= len(d) {
			return 0, false
		}
		return i + 1, true
	case c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'):
		for i < len(d) && d[i] != ',' && d[i] != '}' && d[i] != ' ' && d[i] != '\t' && d[i] != '\n' && d[i] != '\r' {
			i++
		}
		return i, true
	default:
		return 0, false
	}
}

// set records one field of an acknowledgement; false sends the whole reply
// to encoding/json (an error, a malformed value, a known key in another case).
func (ack *Appended) set(key, val []byte, stream, seq *bool) bool {
	switch string(key) {
	case "error":
		return false
	case "stream":
		if len(val) < 3 || val[0] != '"' {
			return false
		}
		*stream = true
	case "seq":
		n, good := parseUint(val)
		if !good {
			return false
		}
		ack.Sequence, *seq = n, true
	case "duplicate":
		switch string(val) {
		case "true":
			ack.Duplicate = true
		case "false":
			ack.Duplicate = false
		default:
			return false
		}
	default:
		return !foldsToKnown(key) // encoding/json matches keys regardless of case
	}
	return true
}

// foldsToKnown reports whether key is one of the acknowledgement's keys in
// another case.
func foldsToKnown(key []byte) bool {
	for _, k := range [...]string{"error", "stream", "seq", "duplicate"} {
		if bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

// plainScalar reports whether b is true, false, null or an integer: the
// only other values a plain acknowledgement holds.
func plainScalar(b []byte) bool {
	switch string(b) {
	case "true", "false", "null":
		return true
	}
	if b[0] == '-' {
		b = b[1:]
	}
	_, ok := parseUint(b)
	return ok
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// parseUint reads a JSON unsigned integer that fits in a uint64.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
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
