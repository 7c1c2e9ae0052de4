package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

// Streams says what a connection does with the streams at start: each
// identity provisions only the streams it owns and waits for the ones it
// only reads (it may not create them).
type Streams struct {
	Options StreamOptions
	// Own are created or updated.
	Own []string
	// Read are waited for, up to Wait (0: DefaultStreamWait).
	Read []string
	Wait time.Duration
}

// DefaultStreamWait bounds the wait for a stream another service provisions:
// long enough for services started together, short enough to fail clearly.
const DefaultStreamWait = 2 * time.Minute

// Connect dials NATS as c with client name, reconnecting for ever, then
// provisions the streams it owns and waits for those it reads. Close the
// connection with Drain so in-flight messages finish.
func Connect(ctx context.Context, c natsauth.Client, name string, log *slog.Logger, s Streams) (*nats.Conn, jetstream.JetStream, error) {
	auth, err := c.Options()
	if err != nil {
		return nil, nil, err
	}
	opts := append(auth,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		// No reconnect buffer: while the server is away a publish fails at
		// once, so a call answers Unavailable instead of waiting out its deadline.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			natsReconnects.Add(context.Background(), 1)
			log.Info("nats reconnected", "url", c.ConnectedUrl())
		}),
		nats.ClosedHandler(untrackConn),
	)
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect nats %s as %s: %w", c.URL, c.Identity, err)
	}
	trackConn(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	if len(s.Own) > 0 {
		if err := Provision(ctx, js, s.Options, s.Own...); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	if err := AwaitStreams(ctx, js, log, s.Wait, s.Read...); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// AwaitStreams waits until every named stream exists, polling, for at most
// wait (0: DefaultStreamWait). It logs once per stream it has to wait for.
func AwaitStreams(ctx context.Context, js jetstream.JetStream, log *slog.Logger, wait time.Duration, names ...string) error {
	if wait == 0 {
		wait = DefaultStreamWait
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for _, name := range names {
		logged := false
		for {
			_, err := js.Stream(ctx, name)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("stream %s does not exist after %s; the service that owns it provisions it at start: %w", name, wait, err)
			}
			if !logged {
				log.InfoContext(ctx, "waiting for a stream another service provisions", "stream", name, "err", err, "max", wait)
				logged = true
			}
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond): // polling another process's start
			}
		}
	}
	return nil
}
