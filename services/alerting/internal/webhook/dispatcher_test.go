package webhook_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/webhook"
)

const secret = "whsec_dispatcher_test_01"

// receiver answers the scripted status codes in turn (the last one for
// ever) and keeps what it was sent.
type receiver struct {
	mu      sync.Mutex
	codes   []int
	headers []http.Header
	bodies  [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	code := r.codes[min(len(r.headers), len(r.codes)-1)]
	r.headers, r.bodies = append(r.headers, req.Header.Clone()), append(r.bodies, body)
	w.WriteHeader(code)
}

func (r *receiver) calls() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.headers) }

// waits records the dispatcher's backoff and lets it go on at once.
type waits struct {
	mu  sync.Mutex
	got []time.Duration
}

func (w *waits) after(d time.Duration) <-chan time.Time {
	w.mu.Lock()
	w.got = append(w.got, d)
	w.mu.Unlock()
	c := make(chan time.Time, 1)
	c <- time.Time{}
	return c
}

func (w *waits) list() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration{}, w.got...)
}

// rig is a dispatcher running against an embedded NATS server.
type rig struct {
	js    jetstream.JetStream
	store *store.Stores
	waits *waits
	now   time.Time
	// read reads the dispatcher's series (see meter).
	read func(name string, want ...attribute.KeyValue) float64
}

// startDispatcher runs a dispatcher whose policy opens 127.0.0.1, where the
// tests' receivers listen.
func startDispatcher(t *testing.T, attempts int) *rig {
	t.Helper()
	policy, err := webhook.NewPolicy([]string{"127.0.0.1"})
	require.NoError(t, err)
	return startDispatcherWith(t, attempts, policy)
}

func startDispatcherWith(t *testing.T, attempts int, policy *webhook.Policy) *rig {
	t.Helper()
	url, _ := testkit.NATS(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "alerting"), "webhook-test", log,
		eventlog.Streams{Own: []string{eventlog.AlertsStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	st, err := store.Open(t.Context(), js, 0)
	require.NoError(t, err)
	mp, read := meter(t)
	r := &rig{js: js, store: st, waits: &waits{}, now: time.Now(), read: read}
	d := webhook.New(js, st, webhook.Options{Attempts: attempts, Backoff: time.Second, MaxBackoff: 3 * time.Second,
		Timeout: 5 * time.Second, After: r.waits.after, Now: func() time.Time { return r.now }, Log: log, Policy: policy,
		CountEvery: 20 * time.Millisecond, Meter: mp})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	// The consumer delivers only alerts stored after it exists.
	require.Eventually(t, func() bool {
		_, err := js.Consumer(t.Context(), eventlog.AlertsStream, webhook.ConsumerName)
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)
	return r
}

func (r *rig) hook(t *testing.T, id, url string) {
	t.Helper()
	require.NoError(t, r.store.Webhooks.Put(t.Context(), "acme", &v1.Webhook{WebhookId: id, TeamId: "design", Url: url, Secret: secret}))
}

// raise stores an alert on the ALERTS stream and waits until the dispatcher
// is done with it (delivered everywhere or dead-lettered: acknowledged).
func (r *rig) raise(t *testing.T, n int) *v1.Alert {
	t.Helper()
	a := &v1.Alert{AlertId: "low_balance.acme.design." + strconv.Itoa(n), OrgId: "acme", TeamId: "design", Kind: "low_balance",
		Severity: v1.Severity_SEVERITY_WARNING, Message: "Team design has 100 tokens left (10 %) of 1000 live",
		RaisedAt: timestamppb.New(r.now), SourceSequence: uint64(n)}
	res, err := eventlog.Append(t.Context(), r.js, eventlog.AlertSubject("acme", "design", "low_balance"),
		&v1.Event{EventId: a.GetAlertId(), OrgId: "acme", TeamId: "design", Payload: &v1.Event_Alert{Alert: a}}, nil)
	require.NoError(t, err)
	a.Sequence = res.Sequence
	require.Eventually(t, func() bool {
		c, err := r.js.Consumer(t.Context(), eventlog.AlertsStream, webhook.ConsumerName)
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.AckFloor.Stream >= res.Sequence
	}, 10*time.Second, 5*time.Millisecond)
	return a
}

func TestDeliveryRetriesWithBackoffThenDeadLetters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		codes     []int
		wantCalls int
		wantWaits []time.Duration
		// wantDead is the attempts on the dead letter; 0: delivered.
		wantDead int
		wantErr  string
	}{
		{"first time", []int{200}, 1, []time.Duration{}, 0, ""},
		{"recovers on the third attempt", []int{503, 500, 204}, 3, []time.Duration{time.Second, 2 * time.Second}, 0, ""},
		{"timeouts and throttling are retried", []int{408, 429, 200}, 3, []time.Duration{time.Second, 2 * time.Second}, 0, ""},
		{"down: every attempt, capped backoff", []int{502}, 4, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, 4, "502 Bad Gateway"},
		{"not found is not retried", []int{404}, 1, []time.Duration{}, 1, "404 Not Found"},
		{"unauthorized is not retried", []int{401}, 1, []time.Duration{}, 1, "401 Unauthorized"},
		{"gone after a retry", []int{503, 410}, 2, []time.Duration{time.Second}, 2, "410 Gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := startDispatcher(t, 4)
			rcv := &receiver{codes: tt.codes}
			srv := httptest.NewServer(rcv)
			t.Cleanup(srv.Close)
			r.hook(t, "chat", srv.URL)

			a := r.raise(t, 1)
			require.Equal(t, tt.wantCalls, rcv.calls())
			require.Equal(t, tt.wantWaits, r.waits.list())
			rcv.mu.Lock()
			for i, h := range rcv.headers {
				require.Equal(t, strconv.Itoa(i+1), h.Get(webhook.HeaderAttempt))
				require.Equal(t, a.GetAlertId(), h.Get(webhook.HeaderAlertID))
				require.Equal(t, "application/json", h.Get("Content-Type"))
				require.NoError(t, webhook.Verify(secret, h.Get(webhook.HeaderTimestamp), h.Get(webhook.HeaderSignature),
					rcv.bodies[i], r.now, time.Minute), "attempt %d", i+1)
			}
			rcv.mu.Unlock()

			dead, err := r.store.DeadLetters.List(t.Context(), "acme", "design")
			require.NoError(t, err)
			if tt.wantDead == 0 {
				require.Empty(t, dead)
				return
			}
			require.Len(t, dead, 1)
			dl := dead[0]
			require.Equal(t, "chat", dl.GetWebhookId())
			require.Equal(t, srv.URL+"/…", dl.GetUrl(), "the path is redacted")
			require.EqualValues(t, tt.wantDead, dl.GetAttempts())
			require.Contains(t, dl.GetLastError(), tt.wantErr)
			require.Equal(t, a.GetAlertId(), dl.GetAlert().GetAlertId())
			require.Equal(t, a.GetSequence(), dl.GetAlert().GetSequence())
			require.Equal(t, r.now.Unix(), dl.GetFailedAt().AsTime().Unix())
		})
	}
}

func TestDeliveryGoesToEveryMatchingHookOnce(t *testing.T) {
	t.Parallel()
	r := startDispatcher(t, 3)
	ok, broken, other := &receiver{codes: []int{200}}, &receiver{codes: []int{400}}, &receiver{codes: []int{200}}
	okSrv, brokenSrv, otherSrv := httptest.NewServer(ok), httptest.NewServer(broken), httptest.NewServer(other)
	t.Cleanup(okSrv.Close)
	t.Cleanup(brokenSrv.Close)
	t.Cleanup(otherSrv.Close)
	r.hook(t, "chat", okSrv.URL)
	r.hook(t, "broken", brokenSrv.URL)
	require.NoError(t, r.store.Webhooks.Put(t.Context(), "acme", &v1.Webhook{WebhookId: "denials", TeamId: "design",
		Url: otherSrv.URL, Secret: secret, Kinds: []string{"launch_denied"}}))

	r.raise(t, 1)
	r.raise(t, 2)
	require.Equal(t, 2, ok.calls())
	require.Equal(t, 2, broken.calls(), "one attempt per alert: a 400 is final")
	require.Zero(t, other.calls(), "kind not wanted")
	dead, err := r.store.DeadLetters.List(t.Context(), "acme", "*")
	require.NoError(t, err)
	require.Len(t, dead, 2)
	for _, dl := range dead {
		require.Equal(t, "broken", dl.GetWebhookId())
		require.EqualValues(t, 1, dl.GetAttempts())
	}
}

func TestRunStoppedWhileStartingIsACleanStop(t *testing.T) {
	t.Parallel()
	url, _ := testkit.NATS(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	nc, js, err := eventlog.Connect(t.Context(), testkit.Client(t, url, "alerting"), "webhook-test", log,
		eventlog.Streams{Own: []string{eventlog.AlertsStream}})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	st, err := store.Open(t.Context(), js, 0)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, webhook.New(js, st, webhook.Options{Log: log}).Run(ctx))
}
