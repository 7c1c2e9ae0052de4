package schedule_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule"
)

// report is a builder of a fixed report, counting its builds.
type report struct{ builds atomic.Int32 }

func (r *report) ScheduledReport(_ context.Context, org string, sch *v1.ReportSchedule, from, to time.Time, label string) (email.Message, error) {
	r.builds.Add(1)
	return email.Message{Subject: "report " + label, Text: org + " " + from.Format(time.DateOnly) + ".." + to.Format(time.DateOnly),
		Attachments: []email.Attachment{{Name: "r-" + label + ".csv", ContentType: "text/csv", Data: []byte("period\n" + label + "\n")}}}, nil
}

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

type fixture struct {
	js    jetstream.JetStream
	mp    *testkit.Mailpit
	clock *clock
	store *schedule.Store
	mail  *email.Sender
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	url, _ := testkit.NATS(t)
	js, err := jetstream.New(testkit.Connect(t, url, "reporting"))
	require.NoError(t, err)
	f := &fixture{js: js, mp: testkit.StartMailpit(t, true), clock: &clock{now: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)}}
	f.store, err = schedule.Open(t.Context(), js, 1, f.clock.Now)
	require.NoError(t, err)
	f.mail = f.sender(t, f.mp.PasswordFile)
	require.NoError(t, f.store.Create(t.Context(), "acme", &v1.ReportSchedule{ScheduleId: "monthly", Report: v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY,
		Period: v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY, TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test"}},
		&v1.Actor{Kind: "admin", Id: "key-1"}))
	return f
}

func (f *fixture) sender(t *testing.T, passwordFile string) *email.Sender {
	s, err := email.New(email.Config{Addr: f.mp.SMTPAddr, From: "reports@tokenmeter.test", TLS: email.TLSImplicit, CA: f.mp.CA,
		User: f.mp.User, PasswordFile: passwordFile, Auth: "login"})
	require.NoError(t, err)
	return s
}

// scheduler is one run of the scheduler (a process, or a replica).
func (f *fixture) scheduler(t *testing.T, build schedule.Builder, mail schedule.Mailer) *schedule.Scheduler {
	s, err := schedule.New(f.store, build, mail, schedule.Options{Attempts: 2, Backoff: time.Millisecond, Now: f.clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return s
}

func (f *fixture) progress(t *testing.T) *v1.ReportSent {
	sent, _, err := f.store.Progress(t.Context(), "acme", "monthly")
	require.NoError(t, err)
	return sent
}

// A report goes out once per period: again in the same period, after a
// restart, or from a second replica it does not.
func TestOncePerPeriodAcrossRestartsAndReplicas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := &report{}
	first := f.scheduler(t, r, f.mail)
	first.Tick(t.Context())
	got := f.mp.WaitMessages(t, 1, 10*time.Second)
	msg := f.mp.Message(t, got[0].ID)
	require.Equal(t, "report 2026-11", msg.Subject)
	require.Equal(t, "cfo@acme.test", msg.To[0].Address)
	require.Equal(t, "report.acme.monthly.2026-11@tokenmeter", msg.MessageID)
	require.Contains(t, msg.Text, "acme 2026-11-01..2026-11-30")
	require.Equal(t, "r-2026-11.csv", msg.Attachments[0].FileName)
	require.Equal(t, "period\n2026-11\n", string(f.mp.Part(t, msg.ID, msg.Attachments[0].PartID)))
	require.Equal(t, v1.ReportSentState_REPORT_SENT_STATE_SENT, f.progress(t).GetState())

	first.Tick(t.Context())
	f.scheduler(t, r, f.mail).Tick(t.Context()) // a restart
	var wg sync.WaitGroup
	for range 3 { // replicas at once
		wg.Go(func() { f.scheduler(t, r, f.mail).Tick(t.Context()) })
	}
	wg.Wait()
	require.Len(t, f.mp.Messages(t), 1)
	require.EqualValues(t, 1, r.builds.Load(), "a period already claimed is not even built")

	f.clock.Set(time.Date(2027, 1, 1, 0, 0, 30, 0, time.UTC))
	wg = sync.WaitGroup{}
	for range 3 {
		wg.Go(func() { f.scheduler(t, r, f.mail).Tick(t.Context()) })
	}
	wg.Wait()
	got = f.mp.WaitMessages(t, 2, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	require.Len(t, f.mp.Messages(t), 2, "three replicas, one mail for December")
	require.Equal(t, "report 2026-12", got[0].Subject)
}

// hanging is an SMTP server that never answers in time: the process stops mid-send.
type hanging struct{ entered chan struct{} }

func (h hanging) Send(ctx context.Context, _ email.Message) error {
	close(h.entered)
	<-ctx.Done()
	return ctx.Err()
}

// A process stopped while sending leaves its claim: the next run does not
// send that period again (the mail may have gone out), and sends the next.
func TestStopMidSendIsNotSentTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, stop := context.WithCancel(t.Context())
	h := hanging{entered: make(chan struct{})}
	done := make(chan struct{})
	go func() { f.scheduler(t, &report{}, h).Tick(ctx); close(done) }()
	<-h.entered
	stop()
	<-done
	require.Equal(t, v1.ReportSentState_REPORT_SENT_STATE_SENDING, f.progress(t).GetState())

	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, f.mp.Messages(t))

	f.clock.Set(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC))
	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	require.Equal(t, "report 2026-12", f.mp.WaitMessages(t, 1, 10*time.Second)[0].Subject)
}

// A report the SMTP server refuses on every attempt is recorded failed and
// not retried for that period.
func TestRefusedReportIsRecordedFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrong, []byte("nope\n"), 0o600))
	f.scheduler(t, &report{}, f.sender(t, wrong)).Tick(t.Context())
	sent := f.progress(t)
	require.Equal(t, v1.ReportSentState_REPORT_SENT_STATE_FAILED, sent.GetState())
	require.Equal(t, "smtp delivery failed", sent.GetError())
	list, err := f.store.List(t.Context(), "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "failed", list[0].Schedule.GetLastState())
	require.Equal(t, "key-1", list[0].Schedule.GetCreatedBy())
	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	require.Empty(t, f.mp.Messages(t))
}

// Deleting records the actor and stops the schedule; its id may be used again.
func TestDeleteAndReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	actor := &v1.Actor{Kind: "admin", Id: "key-2"}
	sch := &v1.ReportSchedule{ScheduleId: "monthly", Report: v1.ScheduledReport_SCHEDULED_REPORT_FORECAST, Period: v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY,
		TeamIds: []string{"design"}, Recipients: []string{"ops@acme.test"}}
	require.ErrorIs(t, f.store.Create(t.Context(), "acme", sch, actor), schedule.ErrExists)
	require.NoError(t, f.store.Delete(t.Context(), "acme", "monthly", actor))
	require.ErrorIs(t, f.store.Delete(t.Context(), "acme", "monthly", actor), schedule.ErrNotFound)
	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	require.Empty(t, f.mp.Messages(t))
	list, err := f.store.List(t.Context(), "*")
	require.NoError(t, err)
	require.Empty(t, list)
	require.NoError(t, f.store.Create(t.Context(), "acme", sch, actor))
	list, err = f.store.List(t.Context(), "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, v1.ScheduledReport_SCHEDULED_REPORT_FORECAST, list[0].Schedule.GetReport())
}

// While the projections are behind nothing is sent, and the scheduler looks
// again within a second rather than after its period (an hour here).
func TestWaitsForTheProjectionsThenSends(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var asked atomic.Int32
	s, err := schedule.New(f.store, &report{}, f.mail, schedule.Options{Every: time.Hour, Now: f.clock.Now,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(context.Context) bool { return asked.Add(1) > 2 }})
	require.NoError(t, err)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	got := f.mp.WaitMessages(t, 1, 10*time.Second)
	require.Equal(t, "report 2026-11", got[0].Subject)
	require.EqualValues(t, 3, asked.Load(), "sent on the first look with the projections caught up")
	stop()
	require.NoError(t, <-done)
}

// A weekly schedule made again under its id as a monthly one sends its
// month: a week's label ("2026-W48") is not compared with a month's.
func TestRemadeWithAnotherPeriod(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	actor := &v1.Actor{Kind: "admin", Id: "key-1"}
	require.NoError(t, f.store.Delete(t.Context(), "acme", "monthly", actor))
	sch := &v1.ReportSchedule{ScheduleId: "monthly", Report: v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY,
		Period: v1.SchedulePeriod_SCHEDULE_PERIOD_WEEKLY, TeamIds: []string{"design"}, Recipients: []string{"cfo@acme.test"}}
	require.NoError(t, f.store.Create(t.Context(), "acme", sch, actor))
	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	require.Equal(t, "report 2026-W48", f.mp.WaitMessages(t, 1, 10*time.Second)[0].Subject)
	require.NoError(t, f.store.Delete(t.Context(), "acme", "monthly", actor))
	sch.Period = v1.SchedulePeriod_SCHEDULE_PERIOD_MONTHLY
	require.NoError(t, f.store.Create(t.Context(), "acme", sch, actor))
	f.scheduler(t, &report{}, f.mail).Tick(t.Context())
	require.Equal(t, "report 2026-11", f.mp.WaitMessages(t, 2, 10*time.Second)[0].Subject)
}
