// Package server is the ledger's gRPC edge: it validates requests, calls the
// pool core through the store (use cases spanning two pools through
// internal/command), and is the one place errors become status codes.
package server

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tokenmeter/tokenmeter/libs/auth"
	"github.com/tokenmeter/tokenmeter/libs/eventlog"
	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
	"github.com/tokenmeter/tokenmeter/libs/privacy"
	"github.com/tokenmeter/tokenmeter/libs/quote"
	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/ring"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/store"
)

// Ledger implements LedgerService.
type Ledger struct {
	v1.UnimplementedLedgerServiceServer
	Store    *store.Store
	Catalogs *store.Catalogs
	JS       jetstream.JetStream
	// Now is the server clock; tests pass a fake one.
	Now func() time.Time
	// IdleTimeout bounds the inactivity a renewal at the 24-hour mark tolerates.
	IdleTimeout time.Duration
	// Forwarder, when set, sends decisions to the replica that owns the pool.
	Forwarder *ring.Forwarder
	// Settings are the organisations' personal-data settings; Privacy shows
	// people by them in every read.
	Settings *privacy.Settings
	Privacy  *privacy.Policy
	// PersonKeys seal users' profiles; erasing a user deletes its key.
	PersonKeys *privacy.PersonKeys
}

// forwardable reports whether a failed forward may be decided here instead:
// the owner could not be reached, and deciding locally is safe because the
// expected-sequence append refuses a stale decision.
func forwardable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

func caller(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, status.Error(codes.Unauthenticated, "no caller")
	}
	if !eventlog.ValidID(p.Org) {
		// Every subject is scoped by the organisation: a wildcard or dotted one
		// (a service acting for "*") would reach other tenants (invariant 6).
		var bad grpcserver.Violations
		bad.Add("x-tokenmeter-org", "the organisation acted for must be 1-64 letters, digits, '-' or '_'")
		return p, bad.Err()
	}
	return p, nil
}

func actorOf(p auth.Principal) *v1.Actor {
	return &v1.Actor{Kind: string(p.Role), Id: p.KeyID}
}

// logRetryDelay is the retry hint while the event log is away: NATS reconnects
// every quarter second.
const logRetryDelay = 500 * time.Millisecond

// statusOf maps domain and store errors to gRPC status codes. Their
// messages may name what a request sent, so they are cut to a bound. Only a
// failure of the event log is Unavailable; an error no case expects is a
// logged Internal.
func statusOf(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return err
	}
	msg := quote.Cut(err.Error(), grpcserver.MaxMessage)
	switch {
	case errors.Is(err, pool.ErrRefused):
		return grpcserver.Internal(err) // a decided event the fold refuses: a bug
	case errors.Is(err, auth.ErrPermission):
		return status.Error(codes.PermissionDenied, "this credential may not act on that team")
	case errors.Is(err, pool.ErrInvalid):
		var bad grpcserver.Violations
		addFieldErrors(&bad, err)
		return bad.Err()
	case errors.Is(err, pool.ErrEventIDReused):
		return status.Error(codes.AlreadyExists, "event_id was already used for another user or product: make a new id for a new event")
	case errors.Is(err, pool.ErrSuspended):
		return status.Error(codes.FailedPrecondition, "the team's pool is suspended (merged or closed)")
	case errors.Is(err, pool.ErrInsufficient):
		return status.Error(codes.FailedPrecondition, msg)
	case errors.Is(err, pool.ErrPackExists), errors.Is(err, pool.ErrGroupExists):
		return status.Error(codes.AlreadyExists, msg)
	case errors.Is(err, pool.ErrNotFound):
		return status.Error(codes.NotFound, msg)
	case errors.Is(err, store.ErrContention):
		return status.Error(codes.Aborted, msg)
	case errors.Is(err, eventlog.ErrUnavailable):
		// The log could not be read or written (its own timeouts included):
		// the caller may retry the same event id.
		return grpcserver.Retryable(codes.Unavailable, logRetryDelay, msg+"; retry with the same event_id")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, msg)
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, msg)
	}
	return grpcserver.Internal(err) // not retryable: a bug, or a decision that panicked
}

// appendCatalog appends a catalog event and waits until this
// replica's catalog has folded it, so the caller reads its own write. A
// duplicate's sequence is its original's, perhaps on a pool's subject the
// catalog never sees: then it waits for the event id itself, briefly (an
// original still in flight is folded within moments).
func (l *Ledger) appendCatalog(ctx context.Context, org string, ev *v1.Event) error {
	stream, ack, err := l.appendOrgEvent(ctx, org, ev)
	if err != nil {
		return err
	}
	if ack.Duplicate {
		l.Catalogs.WaitForEvent(ctx, org, ev.GetEventId(), 2*time.Second)
		return nil
	}
	return l.Catalogs.WaitFor(ctx, stream, ack.Sequence)
}

// appendOrgEvent appends ev on org's catalog subject, in the LEDGER stream
// the catalog is placed in (placing it first), which this replica's catalogs
// and settings then follow if they did not yet. It returns that stream.
func (l *Ledger) appendOrgEvent(ctx context.Context, org string, ev *v1.Event) (string, eventlog.Appended, error) {
	subj, stream, err := l.Store.Place(ctx, org, eventlog.CatalogToken, true)
	if err == nil {
		err = errors.Join(l.Catalogs.Follow(ctx, stream), l.Settings.Follow(ctx, stream))
	}
	if err != nil {
		return "", eventlog.Appended{}, eventlog.Unavailable(ctx, err)
	}
	ack, err := eventlog.Append(ctx, l.JS, subj, ev, nil)
	if err != nil {
		return "", ack, eventlog.Unavailable(ctx, err)
	}
	return stream, ack, nil
}
