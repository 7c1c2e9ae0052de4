// Package origin guards the projections against a reset event log. The
// projectors resume after the highest stream sequence already in ClickHouse;
// if the stream was deleted and created again (or the service points at
// another NATS), its sequences start over and resuming would silently skip
// the new log's first events. The stream's creation time, recorded beside the
// projections on first start, tells the two apart.
package origin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrLogReset means ClickHouse holds projections of another stream than the
// one NATS serves under the same name.
var ErrLogReset = errors.New("the event log is not the one these projections were made from")

// Check records the stream's creation time on first use and refuses a
// stream created at another time.
func Check(ctx context.Context, ch driver.Conn, js jetstream.JetStream, stream, database string) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	created := uint64(info.Created.UnixNano())
	var known []uint64
	rows, err := ch.Query(ctx, "SELECT created_ns FROM stream_origins WHERE stream = ? ORDER BY recorded DESC LIMIT 1", stream)
	if err != nil {
		return fmt.Errorf("read stream origin: %w", err)
	}
	for rows.Next() {
		var v uint64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read stream origin: %w", err)
		}
		known = append(known, v)
	}
	rows.Close()
	if len(known) == 0 {
		batch, err := ch.PrepareBatch(ctx, "INSERT INTO stream_origins (stream, created_ns, recorded)")
		if err != nil {
			return fmt.Errorf("record stream origin: %w", err)
		}
		if err := batch.Append(stream, created, time.Now().UTC()); err != nil {
			return fmt.Errorf("record stream origin: %w", err)
		}
		return batch.Send()
	}
	if known[0] != created {
		return fmt.Errorf("%w: stream %s was created at %s, but database %s holds projections of a %s stream created at %s; "+
			"project the new log into a fresh database (drop it or set -clickhouse-database), or point -nats-url at the original server",
			ErrLogReset, stream, info.Created.UTC().Format(time.RFC3339Nano), database, stream,
			time.Unix(0, int64(known[0])).UTC().Format(time.RFC3339Nano))
	}
	return nil
}
