// Package export writes report rows as CSV (streamed) or XLSX (through
// excelize's stream writer), with stable, documented column names (see
// services/reporting/EXPORTS.md).
package export

import (
	"archive/zip"
	"compress/flate"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

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

// Writer writes a table's rows. A value is a string, an int64, a uint64, a
// float64, a bool or nil (an empty cell). CSV writes each as text (numbers
// in decimal, bools as true/false, nil as ""); XLSX keeps numbers and bools
// typed and writes no cell for nil or "". Row does not keep values: the
// caller may reuse the slice.
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
		return newXLSX(w, sheet, head)
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

// text is v as CSV writes it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
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
		return fmt.Sprint(v)
	}
}

func (c *csvWriter) Discard() {}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// xlsxBatch is how many rows the XLSX writer hands its encoder at once.
const xlsxBatch = 512

// xlsxWriter writes one sheet through excelize's stream writer, which keeps
// rows out of memory; the zip is written to w at Close. Rows are encoded on
// their own goroutine, so the caller (reading ClickHouse) and the encoder
// run side by side; batches of rows go back and forth between them, and
// their cell slices are reused.
type xlsxWriter struct {
	w      io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	batch  *rowBatch // filling
	full   chan *rowBatch
	free   chan *rowBatch
	done   chan error
	failed atomic.Pointer[error] // the encoder's error, once it has one
}

// rowBatch is rows[:n] of cells.
type rowBatch struct {
	rows [][]any
	n    int
}

func newXLSX(w io.Writer, sheet string, header []any) (*xlsxWriter, error) {
	f := excelize.NewFile()
	// Level 1 deflate: the sheet is repetitive XML, so BestSpeed costs a
	// little size and saves most of the compression time.
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		return zw
	})
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("xlsx sheet: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("xlsx stream: %w", err)
	}
	const batches = 4
	x := &xlsxWriter{w: w, f: f, sw: sw, full: make(chan *rowBatch, batches), free: make(chan *rowBatch, batches), done: make(chan error, 1)}
	for range batches - 1 {
		x.free <- &rowBatch{rows: make([][]any, xlsxBatch)}
	}
	x.batch = &rowBatch{rows: make([][]any, xlsxBatch)}
	go x.encode()
	return x, x.Row(header)
}

// encode writes the batches it receives, in order, until full is closed;
// after an error it only hands batches back.
func (x *xlsxWriter) encode() {
	var err error
	next := 1
	for b := range x.full {
		for _, cells := range b.rows[:b.n] {
			if err != nil {
				break
			}
			if err = x.sw.SetRow("A"+strconv.Itoa(next), cells); err != nil {
				err = fmt.Errorf("xlsx row %d: %w", next, err)
				x.failed.Store(&err)
			}
			next++
		}
		b.n = 0
		x.free <- b
	}
	x.done <- err
}

func (x *xlsxWriter) Row(values []any) error {
	if err := x.failed.Load(); err != nil {
		return *err
	}
	b := x.batch
	cells := b.rows[b.n][:0]
	for _, v := range values {
		if s, ok := v.(string); ok && s == "" {
			v = nil // no cell
		}
		cells = append(cells, v)
	}
	b.rows[b.n] = cells
	if b.n++; b.n == len(b.rows) {
		x.full <- b
		x.batch = <-x.free
	}
	return nil
}

func (x *xlsxWriter) Discard() {
	close(x.full)
	<-x.done
	_ = x.f.Close()
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close()
	if x.batch.n > 0 {
		x.full <- x.batch
	}
	close(x.full)
	if err := <-x.done; err != nil {
		return err
	}
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("xlsx flush: %w", err)
	}
	if _, err := x.f.WriteTo(x.w); err != nil {
		return fmt.Errorf("xlsx write: %w", err)
	}
	return nil
}
