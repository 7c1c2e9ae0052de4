package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"code.dny.dev/ssrf"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/alerting/internal/store"
)

// ConsumerName is the durable ALERTS consumer of webhook deliveries.
const ConsumerName = "alerting-webhooks"

// Options tune deliveries.
type Options struct {
	// Attempts before a dead letter (default 6).
	Attempts int
	// Backoff is the wait after the first failure, doubled after each (default 1s, capped at MaxBackoff).
	Backoff, MaxBackoff time.Duration
	// After waits between attempts (default time.After); tests record the schedule through it.
	After func(time.Duration) <-chan time.Time
	// Timeout of one HTTP attempt (default 10s).
	Timeout time.Duration
	// Concurrency is how many alerts are delivered at once (default 32).
	Concurrency int
	// Policy says where deliveries may go (default: public https hosts only).
	Policy *Policy
	// Client defaults to Policy's guarded client.
	Client *http.Client
	// People, when set, hides the text of an alert raised while its
	// organisation showed people, once it no longer does.
	People *privacy.Policy
	Now    func() time.Time
	Log    *slog.Logger
	// CountEvery is how often the dead letters held are counted for their
	// gauge, besides after each one recorded (default 5s).
	CountEvery time.Duration
	// Meter provides the dispatcher's series (default the global provider).
	Meter metric.MeterProvider
	// Mail sends to endpoints with e-mail recipients (nil: such deliveries fail).
	Mail Mailer
}

// Mailer sends one e-mail (email.Sender).
type Mailer interface {
	Send(ctx context.Context, m email.Message) error
}

func (o *Options) defaults() {
	if o.Attempts == 0 {
		o.Attempts = 6
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Concurrency == 0 {
		o.Concurrency = 32
	}
	if o.Policy == nil {
		o.Policy, _ = NewPolicy(nil) // an empty allowlist cannot fail to parse
	}
	if o.Client == nil {
		o.Client = o.Policy.Client()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.CountEvery <= 0 {
		o.CountEvery = 5 * time.Second
	}
	if o.Meter == nil {
		o.Meter = otel.GetMeterProvider()
	}
}

// Schedule is the wait before each retry of a delivery with o's settings:
// Backoff, doubled after each failure, capped at MaxBackoff, Attempts-1 waits.
func Schedule(o Options) []time.Duration {
	o.defaults()
	out := make([]time.Duration, 0, max(o.Attempts-1, 0))
	for wait := o.Backoff; len(out) < o.Attempts-1; wait = min(2*wait, o.MaxBackoff) {
		out = append(out, wait)
	}
	return out
}

// Dispatcher delivers every new alert to the matching webhooks, at least
// once: a message is acknowledged when each delivery succeeded or became a
// dead letter, so a crash re-sends (receivers dedupe on X-Tokenmeter-Alert-Id).
type Dispatcher struct {
	js      jetstream.JetStream
	store   *store.Stores
	o       Options
	metrics *instruments
	// held is the count of dead letters (-1 until first read); recorded
	// asks for a new count.
	held     atomic.Int64
	recorded chan struct{}
}

// New returns a dispatcher.
func New(js jetstream.JetStream, st *store.Stores, o Options) *Dispatcher {
	o.defaults()
	d := &Dispatcher{js: js, store: st, o: o, recorded: make(chan struct{}, 1)}
	d.held.Store(-1)
	return d
}

// Run delivers until ctx ends, then waits for the deliveries in hand.
func (d *Dispatcher) Run(ctx context.Context) error {
	reg, err := d.instrument()
	if err != nil {
		return err
	}
	defer func() { _ = reg.Unregister() }()
	d.zero(ctx)
	var counter sync.WaitGroup
	defer counter.Wait()
	countCtx, stopCounting := context.WithCancel(ctx)
	defer stopCounting()
	counter.Go(func() { d.countDeadLetters(countCtx) })
	iter, err := d.consume(ctx)
	if err != nil || iter == nil {
		return err
	}
	defer iter.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, d.o.Concurrency)
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("webhook consumer: %w", err)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			d.handle(ctx, msg)
		}()
	}
}

// consume reads the webhook consumer, creating it if need be (nil, nil:
// stopped while starting).
func (d *Dispatcher) consume(ctx context.Context) (jetstream.MessagesContext, error) {
	// The worst case of one delivery, so JetStream does not redeliver it meanwhile.
	ackWait := time.Duration(d.o.Attempts)*(d.o.Timeout+d.o.MaxBackoff) + time.Minute
	cons, err := d.js.CreateOrUpdateConsumer(ctx, eventlog.AlertsStream, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "webhook deliveries",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: d.o.Concurrency,
	})
	if err == nil {
		var iter jetstream.MessagesContext
		if iter, err = cons.Messages(jetstream.PullMaxMessages(d.o.Concurrency)); err == nil {
			return iter, nil
		}
	}
	if ctx.Err() != nil {
		return nil, nil //nolint:nilerr // stopping, not failing: the caller ends on nil
	}
	return nil, fmt.Errorf("webhook consumer: %w", err)
}

func (d *Dispatcher) handle(ctx context.Context, msg jetstream.Msg) {
	ev, err := eventlog.Decode(msg.Data())
	a := ev.GetAlert()
	if err != nil || a == nil {
		d.o.Log.ErrorContext(ctx, "skipping unreadable alert", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	if meta, err := msg.Metadata(); err == nil {
		a.Sequence = meta.Sequence.Stream
	}
	if d.o.People != nil {
		a = d.o.People.Alert(a)
	}
	hooks, err := d.store.Webhooks.List(ctx, a.GetOrgId(), a.GetTeamId())
	if err != nil {
		d.o.Log.WarnContext(ctx, "list webhooks failed; will retry", "err", err)
		_ = msg.NakWithDelay(d.o.Backoff)
		return
	}
	var wg sync.WaitGroup
	for _, h := range hooks {
		if !Matches(h, a) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.deliver(ctx, msg, h, a)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // stopped mid-way: redelivered after a restart
	}
	_ = msg.Ack()
}

// deliver posts a to hook until it succeeds, the endpoint refuses it for
// good, or the attempts run out; the last two record a dead letter.
func (d *Dispatcher) deliver(ctx context.Context, msg jetstream.Msg, hook *v1.Webhook, a *v1.Alert) {
	send, channel, err := d.sender(hook, a)
	if err != nil {
		d.o.Log.ErrorContext(ctx, "encode webhook body", "err", err)
		return
	}
	wait := d.o.Backoff
	var last error
	attempt := 1
	for ; ; attempt++ {
		if last = send(ctx, attempt); last == nil {
			d.countOutcome(ctx, channel, outcomeDelivered)
			d.o.Log.InfoContext(ctx, "webhook delivered", "webhook", hook.GetWebhookId(), "alert_id", a.GetAlertId(), "attempt", attempt)
			return
		}
		d.o.Log.WarnContext(ctx, "webhook failed", "webhook", hook.GetWebhookId(), "url", target(hook),
			"alert_id", a.GetAlertId(), "attempt", attempt, "err", failure(last))
		if attempt == d.o.Attempts || errors.Is(last, errPermanent) {
			break
		}
		d.countOutcome(ctx, channel, outcomeRetry)
		_ = msg.InProgress()
		select {
		case <-ctx.Done():
			return
		case <-d.o.After(wait):
		}
		wait = min(2*wait, d.o.MaxBackoff)
	}
	d.countOutcome(ctx, channel, outcomeDead)
	dl := &v1.DeadLetter{WebhookId: hook.GetWebhookId(), TeamId: hook.GetTeamId(), Url: target(hook), Alert: a,
		Attempts: int32(attempt), LastError: failure(last), FailedAt: timestamppb.New(d.o.Now())}
	if err := d.store.DeadLetters.Put(ctx, a.GetOrgId(), dl); err != nil {
		d.o.Log.ErrorContext(ctx, "record dead letter", "err", err)
		return
	}
	select {
	case d.recorded <- struct{}{}:
	default: // a count is already due
	}
	d.o.Log.WarnContext(ctx, "webhook dead-lettered", "webhook", hook.GetWebhookId(), "alert_id", a.GetAlertId(), "attempts", attempt)
}

var (
	// errStatus is a delivery answered with a non-2xx status.
	errStatus = errors.New("endpoint answered")
	// errPermanent marks a refusal that retrying cannot change: a 4xx other
	// than 408 Request Timeout and 429 Too Many Requests (a wrong URL, a
	// revoked token, a payload the endpoint will never take), or a redirect,
	// which deliveries never follow.
	errPermanent = errors.New("not retried")
	// errScheme is a plain-http URL to a host the policy does not open.
	errScheme = fmt.Errorf("http to a host not allowed (%w)", errPermanent)
)

// statusError is the error of a delivery answered with code.
func statusError(code int, status string) error {
	if code >= 300 && code < 400 {
		return fmt.Errorf("%w %s: redirects are not followed (%w)", errStatus, status, errPermanent)
	}
	if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
		return fmt.Errorf("%w %s (%w)", errStatus, status, errPermanent)
	}
	return fmt.Errorf("%w %s", errStatus, status)
}

func (d *Dispatcher) post(ctx context.Context, hook *v1.Webhook, a *v1.Alert, body []byte, attempt int) error {
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.GetUrl(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if req.URL.Scheme != "https" && !d.o.Policy.allowed(req.URL.Hostname()) {
		return errScheme
	}
	ts := d.o.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokenmeter-alerting")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(hook.GetSecret(), ts, body))
	req.Header.Set(HeaderAlertID, a.GetAlertId())
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	resp, err := d.o.Client.Do(req)
	if errors.Is(err, ssrf.ErrProhibitedIP) {
		return fmt.Errorf("%w (%w)", err, errPermanent)
	}
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp.StatusCode, resp.Status)
	}
	return nil
}
