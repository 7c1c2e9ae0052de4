// Package export writes report rows as CSV (streamed) or XLSX (an excelize
// workbook whose rows are encoded and deflated in parallel), with stable,
// documented column names (see services/reporting/EXPORTS.md).
package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Column names of each export kind. They are a contract: columns are only
// ever added at the end, never renamed or reordered.
var (
	UsageColumns = []string{
		"day", "team_id", "user_id", "product_code", "product_group", "product_version", "device_id",
		"tokens", "renewal", "pack_split", "window_start", "window_end", "attributes", "event_id",
	}
	PackColumns = []string{
		"team_id", "pack_id", "kind", "source", "tokens", "remaining", "unit_price", "currency",
		"purchased_at", "expires_at", "expired", "counterparty_team_id", "reason",
	}
	UserColumns = []string{
		"team_id", "user_id", "assigned", "assigned_products", "assigned_at", "tokens", "days_used", "products_used", "last_used",
	}
	DenialColumns = []string{
		"day", "at", "team_id", "user_id", "product_code", "product_version", "device_id", "reason", "tokens_required", "renewal", "event_id",
	}
	SpendColumns = []string{
		"grouping", "key", "currency", "amount", "tokens", "charges",
	}
)

// Writer writes a table's rows. A value is a string, an int64, a uint64, a
// float64, a bool or nil (an empty cell). CSV writes each as text (numbers
// in decimal, bools as true/false, nil as ""), a string that a spreadsheet
// would read as a formula behind a leading ' (see Neutralise); XLSX keeps
// numbers and bools typed, strings as text cells (never formulas), and
// writes no cell for nil or "". Row does not keep values: the caller may
// reuse the slice.
type Writer interface {
	Row(values []any) error
	// Close finishes the file; nothing is complete before it.
	Close() error
	// Discard abandons the file (after an error): it writes nothing more
	// and frees what the writer holds. Call it or Close, once.
	Discard()
}

// Format is a file format.
type Format int

// Formats.
const (
	CSV Format = iota + 1
	XLSX
)

// ContentType is the media type of f.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Extension is f's file name extension.
func (f Format) Extension() string {
	if f == XLSX {
		return ".xlsx"
	}
	return ".csv"
}

// New returns a writer of f to w that has written header.
func New(f Format, w io.Writer, sheet string, header []string) (Writer, error) {
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = h
	}
	switch f {
	case CSV:
		c := &csvWriter{w: csv.NewWriter(w)}
		return c, c.Row(head)
	case XLSX:
		return newXLSX(w, sheet, head, segmentRows)
	default:
		return nil, fmt.Errorf("unknown export format %d", f)
	}
}

// csvWriter streams RFC 4180 CSV: each row goes out as it is written.
type csvWriter struct {
	w    *csv.Writer
	n    int
	text []string
}

func (c *csvWriter) Row(values []any) error {
	c.text = c.text[:0]
	for _, v := range values {
		c.text = append(c.text, text(v))
	}
	if err := c.w.Write(c.text); err != nil {
		return err
	}
	if c.n++; c.n%256 == 0 {
		c.w.Flush()
		return c.w.Error()
	}
	return nil
}

// formulaStart are the first characters that make a spreadsheet read a
// CSV cell as a formula (=, +, -, @) or that some strip before reading it
// as one (tab, carriage return).
const formulaStart = "=+-@\t\r"

// Neutralise is s as a CSV text cell: behind a leading ' when it starts
// like a formula, so that a spreadsheet shows it and never runs it. Only
// text goes through it: numbers are written as numbers, -42 included.
func Neutralise(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// text is v as CSV writes it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return Neutralise(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return Neutralise(fmt.Sprint(v))
	}
}

func (c *csvWriter) Discard() {}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}
