package eventlog

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// Append fails as jetstream.PublishMsg does when no stream takes the
// subject, and when the reply never comes, whatever the context: one that
// can never end (waiting on nats.go's timers), one that can be cancelled,
// one with a deadline.
func TestAppendFailsAsJetStream(t *testing.T) {
	url, _ := testkit.NATS(t)
	// Provisioning every stream and appending anywhere: the admin's job.
	nc := testkit.Connect(t, url, "admin")
	const timeout = 700 * time.Millisecond // more than the no-responders retries take
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(timeout))
	require.NoError(t, err)
	// A subscriber that never answers: the request times out.
	sub, err := nc.SubscribeSync("silent.x")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	contexts := map[string]func() (context.Context, context.CancelFunc){
		"background":  func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		"cancellable": func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		"deadline": func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), timeout)
		},
	}
	for name, newCtx := range contexts {
		for subject, want := range map[string]error{"nostream.x": jetstream.ErrNoStreamResponse, "silent.x": context.DeadlineExceeded} {
			t.Run(name+"/"+subject, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := newCtx()
				_, jsErr := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: []byte("x")})
				cancel()
				require.ErrorIs(t, jsErr, want, "jetstream")
				ctx, cancel = newCtx()
				defer cancel()
				start := time.Now()
				_, err := Append(ctx, js, subject, charged("e-"+name+subject), nil)
				require.ErrorIs(t, err, want)
				require.Less(t, time.Since(start), 2*timeout)
			})
		}
	}
}

// With a context that can never end, jetstream's timeout also bounds the
// waits between no-responders retries: a timeout shorter than one retry
// wait (250 ms, a fixed timer) ends the append at the timeout, as
// jetstream.PublishMsg does, not after the wait.
func TestAppendTimeoutBoundsRetryWait(t *testing.T) {
	url, _ := testkit.NATS(t)
	// Provisioning every stream and appending anywhere: the admin's job.
	nc := testkit.Connect(t, url, "admin")
	js, err := jetstream.New(nc, jetstream.WithDefaultTimeout(50*time.Millisecond))
	require.NoError(t, err)
	start := time.Now()
	_, err = Append(context.Background(), js, "nostream.x", charged("e-short"), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), jetstream.DefaultPubRetryWait)
}
