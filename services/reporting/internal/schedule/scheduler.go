package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/email"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Builder makes the mail of one schedule's report for a period (server.Server).
type Builder interface {
	ScheduledReport(ctx context.Context, org string, sch *v1.ReportSchedule, from, to time.Time, label string) (email.Message, error)
}

// Mailer sends one e-mail (email.Sender).
type Mailer interface {
	Send(ctx context.Context, m email.Message) error
}

// Zones are the organisations' time zones (privacy.Settings).
type Zones interface {
	Zone(org string) *time.Location
}

// Options tune the scheduler; zero values take defaults.
type Options struct {
	// Every is how often schedules are looked at (default 1 minute).
	Every time.Duration
	// Attempts to send one report before it is recorded failed (default 6),
	// waiting Backoff after the first failure, doubled after each (default 1s).
	Attempts int
	Backoff  time.Duration
	Now      func() time.Time
	Log      *slog.Logger
	Meter    metric.MeterProvider
	// Zones give each organisation's periods (nil: UTC for all).
	Zones Zones
	// Ready says whether the reports would be complete now (the projections
	// caught up with the log); a tick while not ready sends nothing. Nil: always.
	Ready func(context.Context) bool
}

// Scheduler sends each schedule's report once for each period.
type Scheduler struct {
	store *Store
	build Builder
	mail  Mailer
	o     Options
	sent  metric.Int64Counter
	nudge chan struct{}
}

// New returns a scheduler; Run starts it.
func New(store *Store, build Builder, mail Mailer, o Options) (*Scheduler, error) {
	if o.Every <= 0 {
		o.Every = time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 6
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Meter == nil {
		o.Meter = otel.GetMeterProvider()
	}
	sent, err := o.Meter.Meter("github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule").Int64Counter(
		"tokenmeter.reporting.scheduled_reports",
		metric.WithDescription("Scheduled report deliveries by outcome: sent, retry (failed, tried again), failed (given up)"))
	if err != nil {
		return nil, fmt.Errorf("schedule metrics: %w", err)
	}
	return &Scheduler{store: store, build: build, mail: mail, o: o, sent: sent, nudge: make(chan struct{}, 1)}, nil
}

// Nudge asks for a look at the schedules now (a new one sends its first
// report at once) without waiting for it.
func (s *Scheduler) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default: // a look is due already
	}
}

// Run looks at every schedule at once and then every Every until ctx ends;
// while the reports would be incomplete it looks again within a second.
func (s *Scheduler) Run(ctx context.Context) error {
	for _, outcome := range []string{"sent", "retry", "failed"} { // every series from the start
		s.sent.Add(ctx, 0, metric.WithAttributes(attribute.String("outcome", outcome)))
	}
	for {
		wait := s.o.Every
		if !s.Tick(ctx) {
			wait = min(wait, time.Second)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		case <-s.nudge:
		}
	}
}

// Tick sends the reports now due, one schedule after another; false: the
// projections were behind (Ready), so it sent nothing.
func (s *Scheduler) Tick(ctx context.Context) bool {
	if s.o.Ready != nil && !s.o.Ready(ctx) {
		return false
	}
	all, err := s.store.List(ctx, "*")
	if err != nil {
		s.o.Log.WarnContext(ctx, "list report schedules; will retry", "err", err)
		return true
	}
	for _, e := range all {
		if ctx.Err() != nil {
			return true
		}
		if err := s.fire(ctx, e.Org, e.Schedule); err != nil && !errors.Is(err, ErrClaimed) {
			s.o.Log.WarnContext(ctx, "scheduled report", "org", e.Org, "schedule", e.Schedule.GetScheduleId(), "err", err)
		}
	}
	return true
}

// fire sends sch's report for the period due unless that period was
// claimed already. The report is built before the claim, so a stop while
// building sends it on the next run; the claim comes before the mail, so a
// stop while sending never sends it twice.
func (s *Scheduler) fire(ctx context.Context, org string, sch *v1.ReportSchedule) error {
	zone := time.UTC
	if s.o.Zones != nil {
		zone = s.o.Zones.Zone(org)
	}
	due := Due(sch.GetPeriod(), s.o.Now(), zone)
	last, rev, err := s.store.Progress(ctx, org, sch.GetScheduleId())
	if err != nil {
		return err
	}
	if last != nil && weekly(last.GetPeriod()) == weekly(due.Label) && last.GetPeriod() >= due.Label {
		return nil
	}
	msg, err := s.build.ScheduledReport(ctx, org, sch, due.From, due.To, due.Label)
	if err != nil {
		return fmt.Errorf("build %s: %w", due.Label, err)
	}
	msg.To = sch.GetRecipients()
	msg.MessageID = fmt.Sprintf("report.%s.%s.%s@tokenmeter", org, sch.GetScheduleId(), due.Label)
	claim := &v1.ReportSent{ScheduleId: sch.GetScheduleId(), Period: due.Label, State: v1.ReportSentState_REPORT_SENT_STATE_SENDING,
		At: timestamppb.New(s.o.Now()), MessageId: msg.MessageID}
	if rev, err = s.store.Claim(ctx, org, claim, rev); err != nil {
		return err
	}
	outcome := s.send(ctx, msg)
	done := &v1.ReportSent{ScheduleId: claim.GetScheduleId(), Period: due.Label, State: v1.ReportSentState_REPORT_SENT_STATE_SENT,
		At: timestamppb.New(s.o.Now()), MessageId: msg.MessageID}
	if outcome != nil {
		done.State, done.Error = v1.ReportSentState_REPORT_SENT_STATE_FAILED, "smtp delivery failed"
	}
	if _, err := s.store.Claim(ctx, org, done, rev); err != nil {
		return fmt.Errorf("record %s: %w", due.Label, err)
	}
	s.o.Log.InfoContext(ctx, "scheduled report", "org", org, "schedule", sch.GetScheduleId(), "period", due.Label,
		"state", done.GetState().String(), "err", outcome)
	return nil
}

// send tries Attempts times with a doubling wait; it stops early when ctx ends.
func (s *Scheduler) send(ctx context.Context, msg email.Message) error {
	wait := s.o.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = s.mail.Send(ctx, msg); err == nil {
			s.count(ctx, "sent")
			return nil
		}
		if attempt == s.o.Attempts || ctx.Err() != nil {
			s.count(ctx, "failed")
			return err
		}
		s.count(ctx, "retry")
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

func (s *Scheduler) count(ctx context.Context, outcome string) {
	s.sent.Add(ctx, 1, metric.WithAttributes(attribute.String("outcome", outcome)))
}

// weekly tells a week's label from a month's: a schedule deleted and made
// again under its id with the other period compares only like with like.
func weekly(label string) bool { return strings.Contains(label, "-W") }
