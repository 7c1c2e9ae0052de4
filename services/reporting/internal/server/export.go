package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/tokenmeter/tokenmeter/libs/privacy"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/export"
	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// chunkSize is the most bytes one ExportResponse carries.
const chunkSize = 64 << 10

// Export streams usage (one row per charge), packs (subscriptions), users,
// denials or spend as CSV or XLSX, in chunks of at most 64 KiB. Columns:
// EXPORTS.md.
func (s *Server) Export(req *v1.ExportRequest, stream grpc.ServerStreamingServer[v1.ExportResponse]) error {
	ctx := stream.Context()
	f, err := s.filter(ctx, req.GetTeamIds(), req.GetRange())
	if err != nil {
		return err
	}
	var format export.Format
	switch req.GetFormat() {
	case v1.ExportFormat_EXPORT_FORMAT_CSV, v1.ExportFormat_EXPORT_FORMAT_UNSPECIFIED:
		format = export.CSV
	case v1.ExportFormat_EXPORT_FORMAT_XLSX:
		format = export.XLSX
	default:
		return s.toStatus(ctx, invalid("format", "unknown format %d", req.GetFormat()))
	}
	k, ok := exportKinds[req.GetKind()]
	if !ok {
		return s.toStatus(ctx, invalid("kind", "unknown kind %d", req.GetKind()))
	}
	kind, columns := k.name, k.columns
	out := &chunker{stream: stream, first: &v1.ExportResponse{
		FileName:    fmt.Sprintf("tokenmeter-%s-%s-%s%s", kind, f.From.Format(query.DateLayout), f.To.Format(query.DateLayout), format.Extension()),
		ContentType: format.ContentType(),
	}}
	w, err := export.New(format, out, kind, columns)
	if err != nil {
		return s.toStatus(ctx, err)
	}
	shown := s.privacy.For(f.OrgID)
	row := func(values []any) error {
		out.rows++
		return w.Row(values)
	}
	switch kind {
	case "usage":
		var u usageRows
		err = s.reports.EachCharge(ctx, f, func(c *query.Charge) error { return row(u.row(c, shown)) })
	case "packs":
		err = s.exportPacks(ctx, f, row)
	case "users":
		err = s.exportUsers(ctx, f, shown.User, row)
	case "denials":
		err = s.exportDenials(ctx, f, shown, row)
	case "spend":
		err = s.exportSpend(ctx, f, shown.User, row)
	}
	if err != nil {
		w.Discard()
		return s.toStatus(ctx, err)
	}
	if err := w.Close(); err != nil {
		return s.toStatus(ctx, err)
	}
	return s.toStatus(ctx, out.flush())
}

// exportKinds name each kind's file and sheet, and its columns.
var exportKinds = map[v1.ExportKind]struct {
	name    string
	columns []string
}{
	v1.ExportKind_EXPORT_KIND_UNSPECIFIED: {"usage", export.UsageColumns},
	v1.ExportKind_EXPORT_KIND_USAGE:       {"usage", export.UsageColumns},
	v1.ExportKind_EXPORT_KIND_PACKS:       {"packs", export.PackColumns},
	v1.ExportKind_EXPORT_KIND_USERS:       {"users", export.UserColumns},
	v1.ExportKind_EXPORT_KIND_DENIALS:     {"denials", export.DenialColumns},
	v1.ExportKind_EXPORT_KIND_SPEND:       {"spend", export.SpendColumns},
}

// usageRows builds usage rows, reusing its cells from row to row; charges
// come in day order, so the day's text is kept while the day stays.
type usageRows struct {
	cells   []any
	day     time.Time
	dayText string
}

func (u *usageRows) row(c *query.Charge, shown *privacy.Shown) []any {
	if !c.Day.Equal(u.day) || u.dayText == "" {
		u.day, u.dayText = c.Day, c.Day.Format(query.DateLayout)
	}
	shown = shown.Row(c.UserID) // an erased user's devices and ids are pseudonyms too
	u.cells = append(u.cells[:0],
		u.dayText, c.TeamID, shown.User(c.UserID), c.Code, c.Group, c.Version, shown.Device(c.Device),
		c.Tokens, c.Renewal == 1, c.Split, stamp(c.WindowStart), stamp(c.WindowEnd), attributesText(c.Attributes, shown), shown.Event(c.EventID))
	return u.cells
}

// attrSeparators turns ClickHouse's control separators into the export's.
var attrSeparators = strings.NewReplacer(query.AttrSep, ";", query.AttrKV, "=")

// attributesText writes a charge's attributes as "key=value" joined by
// ";", pseudonymising the values of personal attributes where people are.
func attributesText(s string, shown *privacy.Shown) string {
	if s == "" {
		return s
	}
	if shown.Raw() {
		return attrSeparators.Replace(s)
	}
	var b strings.Builder
	for i, pair := range strings.Split(s, query.AttrSep) {
		k, v, _ := strings.Cut(pair, query.AttrKV)
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(shown.Value(k, v))
	}
	return b.String()
}

func (s *Server) exportPacks(ctx context.Context, f query.Filter, row func([]any) error) error {
	packs, err := s.reports.Packs(ctx, f)
	if err != nil {
		return err
	}
	now := s.now()
	for _, p := range packs {
		expired := !p.ExpiresAt.After(now)
		if err := row([]any{
			p.TeamID, p.PackID, p.Kind, p.Source, p.Tokens, p.Remaining(),
			float64(p.UnitPriceMicros) / 1e6, p.Currency,
			stamp(p.PurchasedAt), stamp(p.ExpiresAt), expired, p.Counterparty, p.Reason,
		}); err != nil {
			return err
		}
	}
	return nil
}

// exportUsers lists every user assigned now or charged in the range.
func (s *Server) exportUsers(ctx context.Context, f query.Filter, show func(string) string, row func([]any) error) error {
	assignees, err := s.reports.Assignees(ctx, f)
	if err != nil {
		return err
	}
	use, err := s.reports.UserTeamUse(ctx, f)
	if err != nil {
		return err
	}
	type key [2]string
	seen := map[key]bool{}
	byKey := map[key]query.TeamUserUse{}
	for _, u := range use {
		byKey[key{u.TeamID, u.UserID}] = u
	}
	line := func(team, user string, assigned bool, products, at string) error {
		u := byKey[key{team, user}]
		return row([]any{team, show(user), assigned, products, at,
			u.Tokens, u.Days, strings.Join(u.Products, ";"), dateString(u.LastDay)})
	}
	for _, a := range assignees {
		seen[key{a.TeamID, a.UserID}] = true
		if err := line(a.TeamID, a.UserID, true, strings.Join(a.Products, ";"), stamp(a.AssignedAt)); err != nil {
			return err
		}
	}
	for _, u := range use {
		if !seen[key{u.TeamID, u.UserID}] {
			if err := line(u.TeamID, u.UserID, false, "", ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// chunker is the io.Writer behind an export: it sends full chunks as they
// fill, the first one carrying the file name and type.
type chunker struct {
	stream grpc.ServerStreamingServer[v1.ExportResponse]
	first  *v1.ExportResponse
	buf    []byte
	rows   int64
}

func (c *chunker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := chunkSize - len(c.buf)
		take := min(room, len(p))
		c.buf = append(c.buf, p[:take]...)
		p = p[take:]
		if len(c.buf) == chunkSize {
			if err := c.send(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunker) send() error {
	msg := c.first
	c.first = nil
	if msg == nil {
		msg = &v1.ExportResponse{}
	}
	msg.Chunk, msg.Rows = c.buf, c.rows
	err := c.stream.Send(msg)
	c.buf = make([]byte, 0, chunkSize)
	return err
}

// flush sends what is left (and the header message of an empty file).
func (c *chunker) flush() error {
	if len(c.buf) == 0 && c.first == nil {
		return nil
	}
	return c.send()
}
