package eventlog

import (
	"context"
	"errors"
	"fmt"

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
	msg, err := NewMsg(ctx, subject, ev)
	if err != nil {
		return Appended{}, err
	}
	var opts []jetstream.PublishOpt
	if expectLast != nil {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(*expectLast))
	}
	ack, err := js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		if IsConflict(err) {
			return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, ErrConflict)
		}
		return Appended{}, fmt.Errorf("append %s to %s: %w", ev.GetEventId(), subject, err)
	}
	return Appended{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
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
