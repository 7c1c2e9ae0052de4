package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// readPubAck reads every acknowledgement as jetstream.PublishMsg would: the
// hand scan of plain ones agrees with encoding/json, and the rest (errors,
// other shapes) get jetstream's errors.
func TestReadPubAck(t *testing.T) {
	for _, c := range []struct {
		data    string
		want    Appended
		scanned bool // read by the hand scan rather than encoding/json
		err     error
		code    jetstream.ErrorCode
	}{
		{data: `{"stream":"LEDGER","seq":42}`, want: Appended{Sequence: 42}, scanned: true},
		{data: `{"stream":"LEDGER","seq":7,"duplicate":true}`, want: Appended{Sequence: 7, Duplicate: true}, scanned: true},
		{data: ` { "stream" : "LEDGER" , "domain":"hub", "seq" : 18446744073709551615 , "duplicate" : false } `, want: Appended{Sequence: 1<<64 - 1}, scanned: true},
		{data: `{"stream":"LEDGER","seq":3,"val":"x\"y","batch":"b","count":2}`, want: Appended{Sequence: 3}},
		{data: `{"stream":"LEDGER","seq":3,"val":"12","batch":"b","count":2}`, want: Appended{Sequence: 3}, scanned: true},
		{data: `{"stream":"LEDGER","seq":1,"extra":{"a":1}}`, want: Appended{Sequence: 1}},
		{data: `{"stream":"LED\u0047ER","seq":5}`, want: Appended{Sequence: 5}},
		{data: `{"seq":5}`, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"","seq":5}`, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"LEDGER"}`, want: Appended{}},
		{data: `not json`, err: jetstream.ErrInvalidJSAck},
		{data: ``, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"LEDGER","seq":1`, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"LEDGER","seq":1}}`, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"LEDGER","seq":18446744073709551616}`, err: jetstream.ErrInvalidJSAck},
		{data: `{"stream":"LEDGER","seq":-1}`, err: jetstream.ErrInvalidJSAck},
		{data: `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 4"},"stream":"LEDGER","seq":0}`, code: jetstream.JSErrCodeStreamWrongLastSequence},
		{data: `{"error":{"code":400,"err_code":10164,"description":"wrong last sequence"}}`, code: jetstream.JSErrCodeStreamWrongLastSequenceConstant},
		{data: `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`, code: 10077},
		{data: `{"error":{"code":409,"err_code":10158,"description":"duplicate message id is in process"}}`, code: 10158},
	} {
		_, scanned := scanPubAck([]byte(c.data))
		require.Equal(t, c.scanned, scanned, "%s: scanned", c.data)
		got, err := readPubAck([]byte(c.data))
		switch {
		case c.code != 0:
			var apiErr *jetstream.APIError
			require.True(t, errors.As(err, &apiErr), "%s: %v", c.data, err)
			require.Equal(t, c.code, apiErr.ErrorCode, c.data)
			require.Equal(t, c.code == jetstream.JSErrCodeStreamWrongLastSequence || c.code == jetstream.JSErrCodeStreamWrongLastSequenceConstant ||
				c.code == 10158, IsConflict(err), c.data)
		case c.err != nil:
			require.ErrorIs(t, err, c.err, c.data)
		default:
			require.NoError(t, err, c.data)
			require.Equal(t, c.want, got, c.data)
		}
	}
}

// Whatever the hand scan accepts, encoding/json reads the same way.
func FuzzScanPubAck(f *testing.F) {
	for _, s := range []string{
		`{"stream":"LEDGER","seq":42}`, `{"stream":"LEDGER","seq":7,"duplicate":true}`,
		`{"stream":"S","domain":"d","seq":1,"duplicate":false}`, `{"error":{"code":1}}`, `{}`, `{"stream":"a\\","seq":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := scanPubAck(data)
		if !ok {
			return
		}
		var r pubAckReply
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%q: scanned as %+v, but encoding/json fails: %v", data, got, err)
		}
		if r.Error != nil || r.Stream == "" || r.Sequence != got.Sequence || r.Duplicate != got.Duplicate {
			t.Fatalf("%q: scanned as %+v, encoding/json reads %+v", data, got, r)
		}
	})
}

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
