package export

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// segmentRows is how many rows one segment holds.
const segmentRows = 8192

// sheetPart is the zip entry of the workbook's only sheet.
const sheetPart = "xl/worksheets/sheet1.xml"

var sheetDataEnd = []byte("</sheetData>")

// xlsxWriter writes one sheet. The workbook (every part, the header row
// included) is excelize's. The data rows, which excelize's stream writer
// encodes at about a microsecond a cell (a million rows took longer than
// an export may), are encoded by rowEncoder into the same XML, in segments
// that several goroutines encode and deflate side by side; when the
// workbook is saved, the compressed segments are joined into its sheet's
// zip entry, in row order, between its header row and </sheetData> (a
// deflate stream may be cut into independently compressed pieces that each
// end on a sync flush, as pigz does). Nothing of the sheet is held in
// memory: compressed segments wait in a temporary file, and the zip goes
// straight to w. Deflate is klauspost/compress's (the compressor
// clickhouse-go already brings), level 1: 1.6 times the speed of
// compress/flate's on this XML, and a smaller file.
type xlsxWriter struct {
	w        io.Writer
	f        *excelize.File
	rows     int // sheet rows so far, the header included
	segRows  int
	seg      *segment // filling
	work     chan *segment
	order    chan *segment // the segments sent to work, in row order
	free     chan *segment
	encoders sync.WaitGroup
	joined   chan error // the joiner's end
	failed   atomic.Pointer[error]
	stopped  bool

	// Written by the joiner, read after it ended.
	tmp    *os.File // compressed segments, in order
	crc    uint32   // CRC-32 of the segments' rows
	raw    int64    // their uncompressed size
	packed int64    // their compressed size
}

// segment is rows[:n], first being the sheet row number of rows[0].
type segment struct {
	first int
	rows  [][]any
	n     int
	done  chan error

	// Set by encode.
	xml    []byte       // its rows' sheet XML
	packed bytes.Buffer // its rows, deflated, ending on a sync flush
	crc    uint32       // CRC-32 of its rows
	raw    int          // their size
}

func newXLSX(w io.Writer, sheet string, header []any, segRows int) (*xlsxWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("xlsx sheet: %w", err)
	}
	sw, err := f.NewStreamWriter(sheet)
	if err == nil {
		err = sw.SetRow("A1", header)
	}
	if err == nil {
		err = sw.Flush()
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("xlsx header: %w", err)
	}
	tmp, err := os.CreateTemp("", "tokenmeter-xlsx-")
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("xlsx scratch file: %w", err)
	}
	encoders := runtime.GOMAXPROCS(0)
	segments := 2*encoders + 1
	x := &xlsxWriter{
		w: w, f: f, rows: 1, segRows: segRows, tmp: tmp,
		work: make(chan *segment, segments), order: make(chan *segment, segments), free: make(chan *segment, segments),
		joined: make(chan error, 1),
	}
	for range segments - 1 {
		x.free <- &segment{rows: make([][]any, segRows), done: make(chan error, 1)}
	}
	x.seg = &segment{rows: make([][]any, segRows), done: make(chan error, 1)}
	for range encoders {
		x.encoders.Go(x.encode)
	}
	go x.join()
	return x, nil
}

func (x *xlsxWriter) Row(values []any) error {
	if err := x.failed.Load(); err != nil {
		return *err
	}
	if x.rows >= excelize.TotalRows {
		return fmt.Errorf("xlsx row %d: a sheet holds at most %d rows (Excel's limit): export a shorter range, or CSV", x.rows+1, excelize.TotalRows)
	}
	s := x.seg
	if s.n == 0 {
		s.first = x.rows + 1
	}
	cells := s.rows[s.n][:0]
	for i, v := range values {
		switch v := v.(type) {
		case string:
			if v == "" {
				cells = append(cells, nil) // no cell
				continue
			}
		case int64, uint64, float64, bool, nil:
		default:
			// rowEncoder writes only Writer's types as excelize would; a new
			// column of another type must fail here, not change type quietly.
			return fmt.Errorf("xlsx column %d: a %T value (a string, int64, uint64, float64, bool or nil is expected)", i+1, v)
		}
		cells = append(cells, v)
	}
	s.rows[s.n] = cells
	x.rows++
	if s.n++; s.n == len(s.rows) {
		x.dispatch()
		x.seg = <-x.free
	}
	return nil
}

// dispatch hands the filling segment to the encoders and, in order, to the
// joiner.
func (x *xlsxWriter) dispatch() {
	x.order <- x.seg
	x.work <- x.seg
}

// encode encodes the segments it receives until work is closed.
func (x *xlsxWriter) encode() {
	zw, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // BestSpeed is a valid level
	var e rowEncoder
	for s := range x.work {
		s.done <- s.encode(&e, zw)
	}
}

// encode writes s's rows as sheet XML and deflates them.
func (s *segment) encode(e *rowEncoder, zw *flate.Writer) error {
	rows := s.xml[:0]
	for i, cells := range s.rows[:s.n] {
		rows = e.appendRow(rows, s.first+i, cells)
	}
	s.xml = rows
	s.crc, s.raw = crc32.ChecksumIEEE(rows), len(rows)
	s.packed.Reset()
	zw.Reset(&s.packed)
	if _, err := zw.Write(rows); err != nil {
		return fmt.Errorf("xlsx deflate: %w", err)
	}
	if err := zw.Flush(); err != nil {
		return fmt.Errorf("xlsx deflate: %w", err)
	}
	return nil
}

// join appends the encoded segments to the scratch file in row order, until
// order is closed. After an error it only hands segments back.
func (x *xlsxWriter) join() {
	var err error
	for s := range x.order {
		e := <-s.done
		if err == nil && e == nil {
			_, e = x.tmp.Write(s.packed.Bytes())
			x.crc = crc32Combine(x.crc, s.crc, int64(s.raw))
			x.raw += int64(s.raw)
			x.packed += int64(s.packed.Len())
		}
		if err == nil && e != nil {
			err = e
			x.failed.Store(&err)
		}
		s.n = 0
		x.free <- s
	}
	x.joined <- err
}

// stop ends the encoders and the joiner and returns the first error.
func (x *xlsxWriter) stop() error {
	if x.stopped {
		return nil
	}
	x.stopped = true
	close(x.work)
	close(x.order)
	x.encoders.Wait()
	return <-x.joined
}

func (x *xlsxWriter) release() {
	_ = x.tmp.Close()
	_ = os.Remove(x.tmp.Name())
	_ = x.f.Close()
}

func (x *xlsxWriter) Discard() {
	_ = x.stop()
	x.release()
}

func (x *xlsxWriter) Close() error {
	defer x.release()
	if x.seg.n > 0 {
		x.dispatch()
	}
	if err := x.stop(); err != nil {
		return err
	}
	if _, err := x.tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("xlsx scratch file: %w", err)
	}
	// The zip goes to x.w as excelize saves the workbook; the buffer
	// excelize would fill stays empty.
	zw := &spliceZip{zw: zip.NewWriter(x.w), x: x}
	zw.zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	x.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zw })
	if _, err := x.f.WriteTo(io.Discard); err != nil {
		return fmt.Errorf("xlsx write: %w", err)
	}
	if !zw.spliced {
		return errors.New("xlsx write: the workbook has no " + sheetPart)
	}
	return nil
}

// spliceZip is the zip writer of the workbook: every part is written as
// excelize gives it, except the sheet, whose compressed segments are joined
// in before its </sheetData>.
type spliceZip struct {
	zw      *zip.Writer
	x       *xlsxWriter
	sheet   bytes.Buffer // the sheet part as excelize wrote it, while open
	open    bool
	spliced bool
}

func (z *spliceZip) Create(name string) (io.Writer, error) {
	if err := z.finishSheet(); err != nil {
		return nil, err
	}
	if name == sheetPart {
		z.open = true
		return &z.sheet, nil
	}
	return z.zw.Create(name)
}

func (z *spliceZip) AddFS(fsys fs.FS) error {
	if err := z.finishSheet(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

func (z *spliceZip) Close() error {
	if err := z.finishSheet(); err != nil {
		return err
	}
	return z.zw.Close()
}

// finishSheet writes the sheet entry: excelize's part up to </sheetData>,
// the segments, and the rest of the part.
func (z *spliceZip) finishSheet() error {
	if !z.open {
		return nil
	}
	z.open = false
	b := z.sheet.Bytes()
	cut := bytes.LastIndex(b, sheetDataEnd)
	if cut < 0 {
		return errors.New("xlsx write: no </sheetData> in the sheet")
	}
	head, tail := b[:cut], b[cut:]
	var packedHead, packedTail bytes.Buffer
	fw, _ := flate.NewWriter(&packedHead, flate.BestSpeed)
	_, _ = fw.Write(head) // a bytes.Buffer takes everything
	_ = fw.Flush()
	fw.Reset(&packedTail)
	_, _ = fw.Write(tail)
	_ = fw.Close()
	x := z.x
	crc := crc32.ChecksumIEEE(head)
	crc = crc32Combine(crc, x.crc, x.raw)
	crc = crc32Combine(crc, crc32.ChecksumIEEE(tail), int64(len(tail)))
	w, err := z.zw.CreateRaw(&zip.FileHeader{
		Name: sheetPart, Method: zip.Deflate, CreatorVersion: 20, ReaderVersion: 20, CRC32: crc,
		CompressedSize64:   uint64(int64(packedHead.Len()) + x.packed + int64(packedTail.Len())),
		UncompressedSize64: uint64(int64(len(head)) + x.raw + int64(len(tail))),
	})
	if err != nil {
		return fmt.Errorf("xlsx sheet entry: %w", err)
	}
	if _, err := w.Write(packedHead.Bytes()); err != nil {
		return fmt.Errorf("xlsx sheet entry: %w", err)
	}
	if _, err := io.CopyN(w, x.tmp, x.packed); err != nil {
		return fmt.Errorf("xlsx sheet entry: %w", err)
	}
	if _, err := w.Write(packedTail.Bytes()); err != nil {
		return fmt.Errorf("xlsx sheet entry: %w", err)
	}
	z.spliced = true
	return nil
}

// crc32Combine is the CRC-32 (IEEE) of a's data followed by b's, from a,
// b and b's length, as zlib's crc32_combine computes it: a shifted by n
// zero bytes (multiplied by x^(8n) modulo the polynomial), then xor b.
func crc32Combine(a, b uint32, n int64) uint32 {
	if n <= 0 {
		return a
	}
	return multModP(x2nModP(n, 3), a) ^ b
}

// crcPoly is the reflected IEEE polynomial.
const crcPoly = 0xedb88320

// multModP is a*b modulo the polynomial, bits reflected (x^0 is 1<<31).
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable[k] is x^(2^k) modulo the polynomial.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < 32; k++ {
		p = multModP(p, p)
		t[k] = p
	}
	return t
}()

// x2nModP is x^(n*2^k) modulo the polynomial.
func x2nModP(n int64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for ; n != 0; n >>= 1 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
		k++
	}
	return p
}
