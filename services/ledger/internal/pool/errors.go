// Package pool is the ledger's pure domain core: it folds a team's ledger
// events into pool state and decides commands into new events. It does no I/O
// and never reads the wall clock: every decision is given its time.
package pool

import "errors"

// Domain errors; the gRPC edge maps them to status codes.
var (
	ErrInvalid      = errors.New("invalid command")
	ErrInsufficient = errors.New("not enough tokens in the pool")
	ErrPackExists   = errors.New("pack already exists")
	ErrNotFound     = errors.New("not found")
	ErrSuspended    = errors.New("pool is suspended")
	// ErrEventIDReused means an event id already answered came back with a
	// different payload: a client bug, never a retry.
	ErrEventIDReused = errors.New("event id already used for a different event")
)
