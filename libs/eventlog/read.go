package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Stored is an event read back from a stream with its position.
type Stored struct {
	Sequence uint64
	Subject  string
	Event    *v1.Event
}

// LastSequence returns the sequence of the last message on subject, 0 if none.
func LastSequence(ctx context.Context, stream jetstream.Stream, subject string) (uint64, error) {
	msg, err := stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("last message of %s: %w", subject, err)
	}
	return msg.Sequence, nil
}

// ReadSubject calls fn for every event on subject with a sequence above after,
// in order, up to the subject's last sequence at the time of the call. It
// returns that last sequence (after, if nothing is newer).
func ReadSubject(ctx context.Context, js jetstream.JetStream, streamName, subject string, after uint64, fn func(Stored) error) (uint64, error) {
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		return after, fmt.Errorf("stream %s: %w", streamName, err)
	}
	return ReadStream(ctx, stream, subject, after, fn)
}

// ReadStream is ReadSubject on a stream handle the caller keeps: js.Stream
// asks the server for the stream's info, a request (and a large reply to
// decode) that a caller reading often need not repeat. With nothing newer
// than after, a read is one request: the subject's last sequence.
func ReadStream(ctx context.Context, stream jetstream.Stream, subject string, after uint64, fn func(Stored) error) (uint64, error) {
	return ReadStreamWithin(ctx, stream, subject, after, 0, fn)
}

// ReadStreamWithin is ReadStream with each request to the server (the last
// sequence, the reader, each next message) bounded by step when step > 0:
// a stream that lost its leader fails the read in about step, however long
// a read that makes progress takes.
func ReadStreamWithin(ctx context.Context, stream jetstream.Stream, subject string, after uint64, step time.Duration, fn func(Stored) error) (uint64, error) {
	sctx, cancel := within(ctx, step)
	last, err := LastSequence(sctx, stream, subject)
	cancel()
	if err != nil {
		return after, err
	}
	return readUntil(ctx, stream, []string{subject}, after, last, step, fn)
}

// within bounds ctx by step, when step > 0.
func within(ctx context.Context, step time.Duration) (context.Context, context.CancelFunc) {
	if step <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, step)
}

// ReadSubjects is ReadStream over several subjects at once: fn sees their
// events merged in stream order, up to the last sequence any of them had at
// the time of the call.
func ReadSubjects(ctx context.Context, stream jetstream.Stream, subjects []string, after uint64, fn func(Stored) error) (uint64, error) {
	var last uint64
	for _, s := range subjects {
		seq, err := LastSequence(ctx, stream, s)
		if err != nil {
			return after, err
		}
		last = max(last, seq)
	}
	return readUntil(ctx, stream, subjects, after, last, 0, fn)
}

// readUntil calls fn for every event on subjects after after, up to last.
func readUntil(ctx context.Context, stream jetstream.Stream, subjects []string, after, last uint64, step time.Duration, fn func(Stored) error) (uint64, error) {
	if last <= after {
		return after, nil
	}
	subject := strings.Join(subjects, ",")
	cctx, cancel := within(ctx, step)
	cons, err := stream.OrderedConsumer(cctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	cancel()
	if err != nil {
		return after, fmt.Errorf("read %s: %w", subject, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return after, fmt.Errorf("read %s: %w", subject, err)
	}
	defer iter.Stop()
	seen := after
	for seen < last {
		nctx, cancel := within(ctx, step)
		msg, err := iter.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			return seen, fmt.Errorf("read %s at %d: %w", subject, seen, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return seen, fmt.Errorf("read %s: metadata: %w", subject, err)
		}
		ev, err := Decode(msg.Data())
		if err != nil {
			return seen, fmt.Errorf("read %s at %d: %w", subject, meta.Sequence.Stream, err)
		}
		if err := fn(Stored{Sequence: meta.Sequence.Stream, Subject: msg.Subject(), Event: ev}); err != nil {
			return seen, err
		}
		seen = meta.Sequence.Stream
	}
	return seen, nil
}
