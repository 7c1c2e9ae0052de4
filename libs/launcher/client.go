// Package launcher is the Go SDK of tokenmeter's launcher API: Launch, Quote,
// Heartbeat and End with retries under the same event id (backoff with
// jitter, per-attempt timeouts, the server's retry hints), and an on-disk
// offline queue of events flushed through IngestBatch, which survives a
// restart of the launcher.
package launcher

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// ErrQueued means the service could not be reached and the event waits in
// the offline queue; Flush sends it later. A session keeps running.
var ErrQueued = errors.New("ingestion unreachable: event queued offline")

// Options configure a Client.
type Options struct {
	// Addr is ingestion's gRPC address and APIKey the team's launcher key;
	// or Conn, when the caller dials itself.
	Addr   string
	APIKey string
	Conn   grpc.ClientConnInterface
	// TLS dials Addr with this configuration. Without it a loopback Addr is
	// dialled in plaintext and any other with TLS and the system roots,
	// unless Plaintext says otherwise (the key then crosses the network in clear).
	TLS       *tls.Config
	Plaintext bool
	// QueueDir holds the offline queue; empty: no queue.
	QueueDir string
	// Retry tunes retries; the zero value is sensible.
	Retry Retry
}

// Client calls IngestionService for one launcher.
type Client struct {
	api   v1.IngestionServiceClient
	conn  *grpc.ClientConn // ours to close
	queue *Queue
	retry Retry
}

// New builds a client; it connects lazily, so it works offline.
func New(o Options) (*Client, error) {
	c := &Client{retry: o.Retry.withDefaults()}
	conn := o.Conn
	if conn == nil {
		cc, err := grpcserver.DialTLS(o.Addr, o.APIKey, o.transport())
		if err != nil {
			return nil, err
		}
		c.conn, conn = cc, cc
	}
	c.api = v1.NewIngestionServiceClient(conn)
	if o.QueueDir != "" {
		q, err := OpenQueue(o.QueueDir)
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.queue = q
	}
	return c, nil
}

// transport is the TLS Addr is dialled with (nil: plaintext).
func (o Options) transport() *tls.Config {
	switch {
	case o.TLS != nil:
		return o.TLS
	case o.Plaintext || certs.Loopback(o.Addr):
		return nil
	default:
		return &tls.Config{MinVersion: tls.VersionTLS12}
	}
}

// Close releases the connection the client dialled.
func (c *Client) Close() error {
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

// NewEventID returns a fresh event id; retries of one event reuse it.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "evt-" + hex.EncodeToString(b[:])
}

// Launch asks to start a product. The event id and client time are filled
// in when empty, and kept over every retry.
func (c *Client) Launch(ctx context.Context, req *v1.LaunchRequest) (*v1.LaunchResponse, error) {
	if req.EventId == "" {
		req.EventId = NewEventID()
	}
	if req.OccurredAt == nil {
		req.OccurredAt = timestamppb.Now()
	}
	return call(ctx, c.retry, func(ctx context.Context) (*v1.LaunchResponse, error) { return c.api.Launch(ctx, req) })
}

// Quote tells what a launch would cost now.
func (c *Client) Quote(ctx context.Context, req *v1.QuoteRequest) (*v1.QuoteResponse, error) {
	return call(ctx, c.retry, func(ctx context.Context) (*v1.QuoteResponse, error) { return c.api.Quote(ctx, req) })
}

// Heartbeat reports a running session. When ingestion cannot be reached and
// a queue is configured, the heartbeat is queued and ErrQueued returned.
func (c *Client) Heartbeat(ctx context.Context, req *v1.HeartbeatRequest) (*v1.HeartbeatResponse, error) {
	if req.EventId == "" {
		req.EventId = NewEventID()
	}
	if req.OccurredAt == nil {
		req.OccurredAt = timestamppb.Now()
	}
	resp, err := call(ctx, c.queueable(), func(ctx context.Context) (*v1.HeartbeatResponse, error) { return c.api.Heartbeat(ctx, req) })
	if err != nil && Retryable(err) && c.queue != nil {
		return nil, c.enqueue(&v1.OfflineEvent{Event: &v1.OfflineEvent_Heartbeat{Heartbeat: req}}, err)
	}
	return resp, err
}

// End records that a session closed, queueing it when ingestion cannot be reached.
func (c *Client) End(ctx context.Context, req *v1.EndSessionRequest) error {
	if req.EventId == "" {
		req.EventId = NewEventID()
	}
	if req.OccurredAt == nil {
		req.OccurredAt = timestamppb.Now()
	}
	_, err := call(ctx, c.queueable(), func(ctx context.Context) (*v1.EndSessionResponse, error) { return c.api.EndSession(ctx, req) })
	if err != nil && Retryable(err) && c.queue != nil {
		return c.enqueue(&v1.OfflineEvent{Event: &v1.OfflineEvent_EndSession{EndSession: req}}, err)
	}
	return err
}

// queueable is the retry of events that can wait on disk: with a queue they
// are retried briefly (QueueAfter attempts), then queued.
func (c *Client) queueable() Retry {
	r := c.retry
	if c.queue != nil {
		r.Attempts = min(r.Attempts, r.QueueAfter)
	}
	return r
}

// Record queues an event for a later Flush, e.g. a launch the launcher
// allowed while offline under its vendor's policy.
func (c *Client) Record(ev *v1.OfflineEvent) error {
	if c.queue == nil {
		return errors.New("record offline event: no queue directory configured")
	}
	return c.queue.Push(ev)
}

func (c *Client) enqueue(ev *v1.OfflineEvent, cause error) error {
	if err := c.queue.Push(ev); err != nil {
		return fmt.Errorf("queue offline event after %w: %w", cause, err)
	}
	return fmt.Errorf("%w (%w)", ErrQueued, cause)
}

// Pending is the number of queued events.
func (c *Client) Pending() (int, error) {
	if c.queue == nil {
		return 0, nil
	}
	return c.queue.Len()
}
