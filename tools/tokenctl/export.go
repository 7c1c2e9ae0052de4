package tokenctl

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

func (a *app) exportCommand() *cobra.Command {
	var (
		s              scope
		kind, format   string
		restart, quiet bool
	)
	cmd := &cobra.Command{
		Use:   "export FILE",
		Short: "Export usage, packs, users, denials or spend to a CSV or XLSX file; Ctrl-C and re-run resumes",
		Long: `Export a report to FILE: usage (one row per charge: day, team, user, product,
tokens, pack split, window, attributes, event id), packs, users, denials (every
refused launch) or spend (the range's cost by team, product and user, per
currency), as CSV or XLSX (--format, default from FILE's extension, else CSV).
Days are dates in the organisation's time zone (tokenctl time-zone). FILE "-"
writes to stdout (no resume).

Progress shows on stderr: a bar with rate and ETA on a terminal, otherwise a
line every few seconds.

Interrupt and resume: the export is written to FILE.part, and FILE.part.json
records the export's flags and its resolved dates (a --range such as
this-month is pinned to the days it had when the export began). FILE appears
only when the export is complete. Interrupted (Ctrl-C, a lost connection, a
crash), a re-run of the same command resumes it: the reporting service sends
the export's rows again in their stable order (day, team, window start,
stream sequence), tokenctl compares the bytes already in FILE.part with the
stream instead of writing them again, and appends the rest. If the data
changed meanwhile (new charges within the range), the file is rewritten from
the first byte that differs, so the result is always exactly one complete
export, identical to one made without interruption. A re-run with other flags
refuses to touch FILE.part; --restart discards it.`,
		Example: `  tokenctl export usage-march.csv --from 2026-03-01 --to 2026-03-31
  tokenctl export usage.xlsx --range this-month --team design
  tokenctl export packs.csv --kind packs
  tokenctl export - --kind users | head
  tokenctl export denials.xlsx --kind denials --range 3m`,
		Args: exactArgs("FILE"),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"csv", "xlsx"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := exportRequest(args[0], kind, format, &s)
			if err != nil {
				return err
			}
			x := &exporter{app: a, cmd: cmd, path: args[0], req: req, restart: restart, quiet: quiet}
			return x.run()
		},
	}
	a.scopeFlags(cmd, &s)
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "usage", "what to export: "+joinNames(enumNames(v1.ExportKind_value, "EXPORT_KIND_")))
	f.StringVar(&format, "format", "", "csv or xlsx (default: from FILE's extension, else csv)")
	f.BoolVar(&restart, "restart", false, "discard an interrupted export of FILE and start over")
	f.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	completeFlag(cmd, "kind", fixed(enumNames(v1.ExportKind_value, "EXPORT_KIND_")...))
	completeFlag(cmd, "format", fixed(enumNames(v1.ExportFormat_value, "EXPORT_FORMAT_")...))
	return cmd
}

// exportRequest is the request the flags say, checked before any call.
func exportRequest(path, kind, format string, s *scope) (*v1.ExportRequest, error) {
	rng, err := s.usageRange()
	if err != nil {
		return nil, err
	}
	req := &v1.ExportRequest{TeamIds: s.teamIDs(), Range: rng}
	if req.Kind, err = parseEnum[v1.ExportKind]("--kind", kind, v1.ExportKind_value, "EXPORT_KIND_"); err != nil {
		return nil, err
	}
	if format == "" {
		format = "csv"
		if strings.EqualFold(filepath.Ext(path), ".xlsx") {
			format = "xlsx"
		}
	}
	if req.Format, err = parseEnum[v1.ExportFormat]("--format", format, v1.ExportFormat_value, "EXPORT_FORMAT_"); err != nil {
		return nil, err
	}
	return req, nil
}

// exporter is one run of `export`.
type exporter struct {
	app            *app
	cmd            *cobra.Command
	path           string
	req            *v1.ExportRequest
	restart, quiet bool
	rows           int64 // rows exported
}

func (x *exporter) run() error {
	client, err := x.app.reportingClient(x.cmd)
	if err != nil {
		return err
	}
	flags := proto.Clone(x.req).(*v1.ExportRequest)
	if x.req.TeamIds, err = x.app.teamsOrAll(x.cmd, x.req.GetTeamIds()); err != nil {
		return err
	}
	if x.path == "-" {
		return x.stream(client, &plainSink{w: x.cmd.OutOrStdout()})
	}
	sink, err := openPart(x.path, flags, x.restart) // the flags, not the teams they resolved to
	if err != nil {
		return err
	}
	defer sink.close()
	if sink.have > 0 && !x.quiet {
		fmt.Fprintf(x.cmd.ErrOrStderr(), "tokenctl: resuming the export in %s (%d bytes written, %s to %s): checking them against the stream\n",
			sink.part, sink.have, sink.ckpt.FromDate, sink.ckpt.ToDate)
	}
	if sink.ckpt.FromDate != "" {
		// Pin the range to the days the export began with.
		x.req.Range = &v1.UsageRange{FromDate: sink.ckpt.FromDate, ToDate: sink.ckpt.ToDate}
	}
	if err := x.stream(client, sink); err != nil {
		if x.cmd.Context().Err() != nil {
			return fmt.Errorf("%w: the export stopped with %d bytes in %s; run the same command again to resume it", errInterrupted, sink.size(), sink.part)
		}
		return fmt.Errorf("%w\nthe export stopped with %d bytes in %s; run the same command again to resume it", err, sink.size(), sink.part)
	}
	if err := sink.commit(); err != nil {
		return err
	}
	if !x.quiet {
		if sink.changed {
			fmt.Fprintf(x.cmd.ErrOrStderr(), "tokenctl: the data changed since the interrupted run: rewrote %s from byte %d on\n", x.path, sink.changedAt)
		}
		fmt.Fprintf(x.cmd.ErrOrStderr(), "tokenctl: wrote %s: %d rows\n", x.path, x.rows)
	}
	return nil
}

// sink takes an export's bytes in order.
type sink interface {
	// begin sees the first message (file name and type).
	begin(first *v1.ExportResponse) error
	write(chunk []byte) error
}

type plainSink struct{ w io.Writer }

func (p *plainSink) begin(*v1.ExportResponse) error { return nil }
func (p *plainSink) write(b []byte) error {
	_, err := p.w.Write(b)
	return err
}

// stream runs the export into out, showing progress.
func (x *exporter) stream(client v1.ReportingServiceClient, out sink) (err error) {
	ctx := x.cmd.Context()
	var pr *progress
	if !x.quiet {
		pr = x.app.newProgress(x.cmd, "export", "rows", x.expectedRows(client), 0)
	}
	defer func() { pr.finish(err) }()
	stream, err := client.Export(ctx, x.req)
	if err != nil {
		return x.app.explain(x.app.endpoint(svcReporting), v1.ReportingService_Export_FullMethodName, err)
	}
	var chunks, rows int64
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.app.explain(x.app.endpoint(svcReporting), v1.ReportingService_Export_FullMethodName, err)
		}
		if err := ctx.Err(); err != nil {
			return err // interrupted: nothing more is written
		}
		if chunks == 0 {
			if err := out.begin(resp); err != nil {
				return err
			}
		}
		if err := out.write(resp.GetChunk()); err != nil {
			return err
		}
		chunks++
		rows = max(rows, resp.GetRows())
		pr.set(rows)
		if x.app.o.afterStep != nil {
			x.app.o.afterStep(chunks)
		}
	}
	x.rows = rows
	return nil
}

// expectedRows is the number of rows a usage export will have (one per
// charge, as the by-day report counts them); 0 when unknown.
func (x *exporter) expectedRows(client v1.ReportingServiceClient) int64 {
	if x.req.GetKind() != v1.ExportKind_EXPORT_KIND_USAGE && x.req.GetKind() != v1.ExportKind_EXPORT_KIND_UNSPECIFIED {
		return 0
	}
	resp, err := client.GetUsageByDay(x.cmd.Context(), &v1.GetUsageByDayRequest{TeamIds: x.req.GetTeamIds(), Range: x.req.GetRange()})
	if err != nil {
		return 0
	}
	var n int64
	for _, d := range resp.GetDays() {
		n += d.GetCharges()
	}
	return n
}
