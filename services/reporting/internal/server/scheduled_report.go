package server

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/email"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/export"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// MaxAttachment is the largest file a scheduled report attaches (most mail
// servers refuse messages over 25 MB); a larger one fails the report.
const MaxAttachment = 20 << 20

// expiringWithin is the horizon of the expiring-packs report.
const expiringWithin = 90 * 24 * time.Hour

// ScheduledReport builds the mail of sch's report for the period from..to
// (both days included) named label, read as an admin of org would read it:
// through the same handlers and privacy rules as the RPCs.
func (s *Server) ScheduledReport(ctx context.Context, org string, sch *v1.ReportSchedule, from, to time.Time, label string) (email.Message, error) {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Org: org, Role: auth.RoleAdmin, KeyID: "schedule/" + sch.GetScheduleId()})
	rng := &v1.UsageRange{FromDate: from.Format(time.DateOnly), ToDate: to.Format(time.DateOnly)}
	var (
		m   email.Message
		err error
	)
	switch sch.GetReport() {
	case v1.ScheduledReport_SCHEDULED_REPORT_USAGE_SUMMARY:
		m, err = s.usageMail(ctx, sch, rng)
	case v1.ScheduledReport_SCHEDULED_REPORT_FORECAST:
		m, err = s.forecastMail(ctx, org, sch, label)
	case v1.ScheduledReport_SCHEDULED_REPORT_EXPIRING_PACKS:
		m, err = s.packsMail(ctx, sch, rng)
	default:
		return m, fmt.Errorf("unknown report %d", sch.GetReport())
	}
	m.Subject = fmt.Sprintf("[tokenmeter] %s %s", reportName(sch.GetReport()), label)
	m.Text = fmt.Sprintf("%s for %s, %s; dates are days in %s.\n\n%s\nSchedule %s (%s). Columns of the attached file: EXPORTS.md in tokenmeter's repository.\n",
		reportName(sch.GetReport()), label, teamsText(sch.GetTeamIds()), s.zone(org), m.Text, sch.GetScheduleId(),
		strings.ToLower(strings.TrimPrefix(sch.GetPeriod().String(), "SCHEDULE_PERIOD_")))
	return m, err
}

func reportName(r v1.ScheduledReport) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(r.String(), "SCHEDULED_REPORT_")), "_", " ")
}

func teamsText(teams []string) string {
	if len(teams) == 1 {
		return "team " + teams[0]
	}
	return "teams " + strings.Join(teams, ", ")
}

func (s *Server) usageMail(ctx context.Context, sch *v1.ReportSchedule, rng *v1.UsageRange) (email.Message, error) {
	sum, err := s.GetUsageSummary(ctx, &v1.GetUsageSummaryRequest{TeamIds: sch.GetTeamIds(), Range: rng})
	if err != nil {
		return email.Message{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Tokens used %s to %s: %d\n", rng.GetFromDate(), rng.GetToDate(), sum.GetTokensUsed())
	if sum.GetTokensRemainingKnown() {
		fmt.Fprintf(&b, "Tokens remaining now: %d\n", sum.GetTokensRemaining())
	}
	if len(sum.GetByProduct()) > 0 {
		b.WriteString("\nBy product:\n")
	}
	for _, p := range sum.GetByProduct() {
		fmt.Fprintf(&b, "  %-12s %8d tokens  %4d users\n", p.GetProductCode(), p.GetTokens(), p.GetUsers())
	}
	att, err := s.exportFile(ctx, &v1.ExportRequest{TeamIds: sch.GetTeamIds(), Range: rng, Kind: v1.ExportKind_EXPORT_KIND_USAGE, Format: sch.GetFormat()})
	return email.Message{Text: b.String(), Attachments: []email.Attachment{att}}, err
}

func (s *Server) packsMail(ctx context.Context, sch *v1.ReportSchedule, rng *v1.UsageRange) (email.Message, error) {
	f, err := s.filter(ctx, sch.GetTeamIds(), rng)
	if err != nil {
		return email.Message{}, err
	}
	packs, err := s.reports.Packs(ctx, f)
	if err != nil {
		return email.Message{}, err
	}
	now := s.now()
	var b strings.Builder
	b.WriteString("Packs with unused tokens expiring within 90 days:\n")
	n := 0
	slices.SortFunc(packs, func(a, c query.Pack) int { return a.ExpiresAt.Compare(c.ExpiresAt) })
	for _, p := range packs {
		if p.Remaining() > 0 && p.ExpiresAt.After(now) && p.ExpiresAt.Sub(now) <= expiringWithin {
			n++
			fmt.Fprintf(&b, "  %s %s: %d of %d tokens left, expires %s (in %d days)\n", p.TeamID, p.PackID, p.Remaining(), p.Tokens,
				p.ExpiresAt.In(f.Zone).Format(time.DateOnly), int(p.ExpiresAt.Sub(now).Hours()/24))
		}
	}
	if n == 0 {
		b.WriteString("  none\n")
	}
	att, err := s.exportFile(ctx, &v1.ExportRequest{TeamIds: sch.GetTeamIds(), Range: rng, Kind: v1.ExportKind_EXPORT_KIND_PACKS, Format: sch.GetFormat()})
	return email.Message{Text: b.String(), Attachments: []email.Attachment{att}}, err
}

// fileStream collects an Export into one attachment; only Send and Context
// of the stream are used.
type fileStream struct {
	grpc.ServerStream
	ctx context.Context
	att email.Attachment
	buf bytes.Buffer
}

func (f *fileStream) Context() context.Context { return f.ctx }

func (f *fileStream) Send(m *v1.ExportResponse) error {
	if m.GetFileName() != "" {
		f.att.Name, f.att.ContentType = m.GetFileName(), m.GetContentType()
	}
	if f.buf.Len()+len(m.GetChunk()) > MaxAttachment {
		return fmt.Errorf("the attachment would exceed %d MiB", MaxAttachment>>20)
	}
	f.buf.Write(m.GetChunk())
	return nil
}

// exportFile runs Export into an attachment.
func (s *Server) exportFile(ctx context.Context, req *v1.ExportRequest) (email.Attachment, error) {
	f := &fileStream{ctx: ctx}
	if err := s.Export(req, f); err != nil {
		return email.Attachment{}, err
	}
	f.att.Data = f.buf.Bytes()
	return f.att, nil
}

// exportFormat maps a request's format (CSV by default).
func exportFormat(f v1.ExportFormat) export.Format {
	if f == v1.ExportFormat_EXPORT_FORMAT_XLSX {
		return export.XLSX
	}
	return export.CSV
}
