package reporting

import (
	"context"
	"flag"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/email"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/schedule"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/server"
)

// MailConfig is the e-mail of scheduled reports.
type MailConfig struct {
	// SMTP is the server reports are sent through; without an address there
	// are no schedules.
	SMTP email.Config
	// ScheduleTick is how often schedules are looked at.
	ScheduleTick time.Duration
	// Now is the scheduler's clock (nil: time.Now).
	Now func() time.Time
}

func (c *MailConfig) register(fs *flag.FlagSet) {
	c.SMTP.Register(fs)
	fs.DurationVar(&c.ScheduleTick, "schedule-tick", time.Minute, "how often report schedules are looked at for a report due")
}

// openSchedules opens the schedules' bucket when mail is configured, so
// that the server can keep schedules; startScheduler then sends them.
func openSchedules(ctx context.Context, js jetstream.JetStream, c MailConfig, replicas int, opts *server.Options) (*email.Sender, error) {
	if !c.SMTP.Enabled() {
		return nil, nil
	}
	sender, err := email.New(c.SMTP)
	if err != nil {
		return nil, err
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	opts.Schedules, err = schedule.Open(ctx, js, replicas, now)
	return sender, err
}

func (s *Service) newScheduler(store *schedule.Store, srv *server.Server, sender *email.Sender) (*schedule.Scheduler, error) {
	if store == nil {
		return nil, nil
	}
	c := s.cfg.Mail
	return schedule.New(store, srv, sender, schedule.Options{Every: c.ScheduleTick, Now: c.Now, Log: s.log.With("part", "schedules"), Zones: s.settings,
		Ready: s.projected})
}

// projected reports whether every LEDGER table has caught up with every
// LEDGER stream as it is now, so that a report built now misses nothing (a
// replica starting on an empty database must not mail an empty month).
func (s *Service) projected(ctx context.Context) bool {
	return s.CaughtUp(ctx, eventlog.LedgerStream)
}
