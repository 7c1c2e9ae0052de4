package launcher

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// Queue is the on-disk offline queue: one file per event, named by its
// position, written to a temporary name, synced and renamed, so a crash
// leaves each event either whole or absent. One process uses a directory.
type Queue struct {
	dir  string
	mu   sync.Mutex
	next uint64
}

// Queued is an event waiting in the queue.
type Queued struct {
	Pos   uint64
	Event *v1.OfflineEvent
}

const queueExt = ".event"

// OpenQueue opens (creating) the queue in dir and continues after the last
// event already there.
func OpenQueue(dir string) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("offline queue %s: %w", dir, err)
	}
	q := &Queue{dir: dir, next: 1}
	positions, err := q.positions()
	if err != nil {
		return nil, err
	}
	if n := len(positions); n > 0 {
		q.next = positions[n-1] + 1
	}
	return q, nil
}

func (q *Queue) positions() ([]uint64, error) {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("read offline queue: %w", err)
	}
	var out []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, queueExt) {
			continue // temporary files of an interrupted write
		}
		pos, err := strconv.ParseUint(strings.TrimSuffix(name, queueExt), 10, 64)
		if err == nil {
			out = append(out, pos)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (q *Queue) path(pos uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d%s", pos, queueExt))
}

// Push appends ev durably.
func (q *Queue) Push(ev *v1.OfflineEvent) error {
	data, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode offline event: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	tmp, err := os.CreateTemp(q.dir, "push-*.tmp")
	if err != nil {
		return fmt.Errorf("queue offline event: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("queue offline event: %w", err)
	}
	if err := os.Rename(tmp.Name(), q.path(q.next)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("queue offline event: %w", err)
	}
	q.next++
	return syncDir(q.dir)
}

// Peek returns up to n events from the front of the queue, in order.
func (q *Queue) Peek(n int) ([]Queued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	positions, err := q.positions()
	if err != nil {
		return nil, err
	}
	var out []Queued
	for _, pos := range positions[:min(n, len(positions))] {
		data, err := os.ReadFile(q.path(pos))
		if err != nil {
			return nil, fmt.Errorf("read offline event %d: %w", pos, err)
		}
		ev := &v1.OfflineEvent{}
		if err := proto.Unmarshal(data, ev); err != nil {
			return nil, fmt.Errorf("decode offline event %d: %w", pos, err)
		}
		out = append(out, Queued{Pos: pos, Event: ev})
	}
	return out, nil
}

// Remove deletes events the service has answered.
func (q *Queue) Remove(positions ...uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, pos := range positions {
		if err := os.Remove(q.path(pos)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove offline event %d: %w", pos, err)
		}
	}
	return syncDir(q.dir)
}

// Len is the number of queued events.
func (q *Queue) Len() (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	positions, err := q.positions()
	return len(positions), err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync offline queue: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync offline queue: %w", err)
	}
	return nil
}
