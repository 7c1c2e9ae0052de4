package server

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
)

// MaxWatchesPerKey bounds the WatchAlerts streams one api key holds open at
// once: each is a JetStream consumer on the server.
const MaxWatchesPerKey = 16

// watchers counts the open WatchAlerts streams of each key.
type watchers struct {
	mu   sync.Mutex
	open map[string]int
}

// take counts one more stream for the caller's key, or refuses past the
// limit; release gives it back.
func (w *watchers) take(ctx context.Context) (release func(), err error) {
	p, _ := auth.FromContext(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.open == nil {
		w.open = map[string]int{}
	}
	if w.open[p.KeyID] >= MaxWatchesPerKey {
		return nil, status.Errorf(codes.ResourceExhausted,
			"this api key already holds %d alert streams open: close one (or resume it from its last sequence) first", MaxWatchesPerKey)
	}
	w.open[p.KeyID]++
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.open[p.KeyID]--; w.open[p.KeyID] == 0 {
			delete(w.open, p.KeyID)
		}
	}, nil
}
