// Package export writes report rows as CSV (streamed) or XLSX (through
// excelize's stream writer), with stable, documented column names (see
// services/reporting/EXPORTS.md).
package export

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
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
)

// Writer writes a table's rows.
type Writer interface {
	Row(values []string) error
	// Close finishes the file; nothing is complete before it.
	Close() error
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
	switch f {
	case CSV:
		c := &csvWriter{w: csv.NewWriter(w)}
		return c, c.Row(header)
	case XLSX:
		return newXLSX(w, sheet, header)
	default:
		return nil, fmt.Errorf("unknown export format %d", f)
	}
}

// csvWriter streams RFC 4180 CSV: each row goes out as it is written.
type csvWriter struct {
	w *csv.Writer
	n int
}

func (c *csvWriter) Row(values []string) error {
	if err := c.w.Write(values); err != nil {
		return err
	}
	if c.n++; c.n%256 == 0 {
		c.w.Flush()
		return c.w.Error()
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// xlsxWriter writes one sheet through excelize's stream writer, which keeps
// rows out of memory; the zip is written to w at Close.
type xlsxWriter struct {
	w    io.Writer
	f    *excelize.File
	sw   *excelize.StreamWriter
	next int
	cell []any
}

func newXLSX(w io.Writer, sheet string, header []string) (*xlsxWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("xlsx sheet: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, fmt.Errorf("xlsx stream: %w", err)
	}
	x := &xlsxWriter{w: w, f: f, sw: sw, next: 1}
	return x, x.Row(header)
}

func (x *xlsxWriter) Row(values []string) error {
	cell, err := excelize.CoordinatesToCellName(1, x.next)
	if err != nil {
		return err
	}
	x.cell = x.cell[:0]
	for _, v := range values {
		x.cell = append(x.cell, v)
	}
	if err := x.sw.SetRow(cell, x.cell); err != nil {
		return fmt.Errorf("xlsx row %d: %w", x.next, err)
	}
	x.next++
	return nil
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx flush: %w", err)
	}
	if _, err := x.f.WriteTo(x.w); err != nil {
		return fmt.Errorf("xlsx write: %w", err)
	}
	return nil
}
