package projector

import "time"

// Buffer collects rows for one insert block and decides when to flush. It is
// pure: the caller passes the clock.
//
// A block holds rows of one partition only. ClickHouse writes an insert as
// one part per partition, so only a single-partition block is atomic — and the
// projector's exactly-once resume (after max(seq)) needs every block to land
// entirely or not at all.
type Buffer struct {
	maxRows  int
	maxAge   time.Duration
	rows     []Record
	first    time.Time // when the first buffered row was added
	lastSeq  uint64    // highest sequence seen, projected or skipped
	lastTime time.Time // server time of the event at lastSeq
}

// NewBuffer returns a buffer that is due at maxRows rows or when its oldest
// row is maxAge old.
func NewBuffer(maxRows int, maxAge time.Duration) *Buffer {
	return &Buffer{maxRows: maxRows, maxAge: maxAge, rows: make([]Record, 0, maxRows)}
}

// Fits reports whether row may join the buffered block: the buffer is empty
// or the row is in the same partition.
func (b *Buffer) Fits(row Record) bool {
	return len(b.rows) == 0 || b.rows[0].Partition() == row.Partition()
}

// Add buffers row; call Fits first, and Seen for its position.
func (b *Buffer) Add(row Record, now time.Time) {
	if len(b.rows) == 0 {
		b.first = now
	}
	b.rows = append(b.rows, row)
}

// Seen records that the log was read up to seq (an event the projection skips
// still moves the position).
func (b *Buffer) Seen(seq uint64, serverTime time.Time) {
	if seq > b.lastSeq {
		b.lastSeq = seq
		b.lastTime = serverTime
	}
}

// Full reports whether the buffer reached its row count.
func (b *Buffer) Full() bool { return len(b.rows) >= b.maxRows }

// Due reports whether the buffer should be flushed at now: full, or holding
// rows for maxAge.
func (b *Buffer) Due(now time.Time) bool {
	return b.Full() || (len(b.rows) > 0 && now.Sub(b.first) >= b.maxAge)
}

// Len is the number of buffered rows.
func (b *Buffer) Len() int { return len(b.rows) }

// Rows returns the buffered rows; valid until Reset.
func (b *Buffer) Rows() []Record { return b.rows }

// Position is the highest sequence seen and its event's server time.
func (b *Buffer) Position() (uint64, time.Time) { return b.lastSeq, b.lastTime }

// Reset empties the buffer after a flush, keeping the position.
func (b *Buffer) Reset() {
	clear(b.rows)
	b.rows = b.rows[:0]
	b.first = time.Time{}
}

// Take returns the buffered rows and empties the buffer, keeping the
// position; the rows are the caller's from then on.
func (b *Buffer) Take() []Record {
	rows := b.rows
	b.rows = make([]Record, 0, b.maxRows)
	b.first = time.Time{}
	return rows
}
