package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultShutdownTimeout bounds each step of a graceful stop unless
// -shutdown-timeout says otherwise.
const DefaultShutdownTimeout = 10 * time.Second

// DrainNATS closes nc after its subscriptions and pending publishes have
// drained, closing it at once when that takes longer than timeout: a stop
// must end even when NATS is unreachable.
func DrainNATS(nc *nats.Conn, timeout time.Duration) error {
	if nc == nil || nc.IsClosed() {
		return nil
	}
	if err := nc.Drain(); err != nil {
		nc.Close()
		return fmt.Errorf("drain nats: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for !nc.IsClosed() {
		if time.Now().After(deadline) {
			nc.Close()
			return errors.New("drain nats: timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
