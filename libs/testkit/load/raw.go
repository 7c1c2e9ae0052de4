package load

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The raw JetStream figures a benchmark prints beside its own, measured on
// the same server in the same run.

func lastSequence(ctx context.Context, s jetstream.Stream, subject string) (uint64, error) {
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return m.Sequence, nil
}

// RawSyncExpect publishes n messages of payload bytes on one subject, one at a time,
// each expecting the subject's last sequence: the raw cost of one pool.
func RawSyncExpect(b *testing.B, js jetstream.JetStream, streamName, subject string, payload, n int) Result {
	b.Helper()
	ctx := context.Background()
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		b.Fatal(err)
	}
	last, err := lastSequence(ctx, stream, subject)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, payload)
	return Closed(b, 1, n, func(int) error {
		msg := nats.NewMsg(subject)
		msg.Data = data
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(last))
		if err != nil {
			return err
		}
		last = ack.Sequence
		return nil
	})
}

// RawPipelined publishes n messages of payload bytes round-robin over the
// subjects, asynchronously (up to the client's 4,000 pending), each with a
// Nats-Msg-Id and the expected last subject sequence. With a single writer the
// stream assigns sequences in publish order, so the expected sequence of each
// message is known without waiting: the raw cost of many pools at full pipeline.
// Latency is publish to acknowledgement.
func RawPipelined(b *testing.B, js jetstream.JetStream, streamName string, names []string, payload, n int) Result {
	b.Helper()
	ctx := context.Background()
	stream, err := js.Stream(ctx, streamName)
	if err != nil {
		b.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	base := info.State.LastSeq
	subjects := len(names)
	last := make([]uint64, subjects)
	for i := range names {
		if last[i], err = lastSequence(ctx, stream, names[i]); err != nil {
			b.Fatal(err)
		}
	}
	type sent struct {
		f  jetstream.PubAckFuture
		at time.Time
	}
	pending := make(chan sent, 8192)
	lat := make([]time.Duration, 0, n)
	var failed error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range pending {
			select {
			case <-s.f.Ok():
				lat = append(lat, time.Since(s.at))
			case err := <-s.f.Err():
				if failed == nil {
					failed = err
				}
			}
		}
	}()
	data := make([]byte, payload)
	id := fmt.Sprintf("raw-%d-", time.Now().UnixNano())
	// ResetTimer only restarts a running timer: a caller that stopped it
	// (to measure a baseline first) would otherwise time nothing, and Go
	// would raise b.N without end.
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	for i := range n {
		k := i % subjects
		at := time.Now()
		msg := nats.NewMsg(names[k])
		msg.Data = data
		// A loaded machine can keep 4,000 acks pending longer than the
		// default 200 ms stall wait; a refused publish would break the
		// sequence prediction, so wait longer instead.
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(id+fmt.Sprint(i)),
			jetstream.WithExpectLastSequencePerSubject(last[k]), jetstream.WithStallWait(30*time.Second))
		if err != nil {
			b.Fatal(err)
		}
		last[k] = base + uint64(i) + 1
		pending <- sent{f, at}
	}
	close(pending)
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatalf("pipelined publish: %v", failed)
	}
	return Result{Ops: n, Elapsed: elapsed, Lat: lat}
}
