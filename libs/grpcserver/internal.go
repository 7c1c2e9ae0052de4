package grpcserver

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Internal is the answer to an error no mapping expected (a bug, a
// recovered panic): the client gets Internal without the error's text, and
// the server's log gets the error with the method that returned it.
func Internal(err error) error { return &internalError{cause: err} }

type internalError struct{ cause error }

func (e *internalError) Error() string { return "internal error: " + e.cause.Error() }

func (e *internalError) Unwrap() error { return e.cause }

func (e *internalError) GRPCStatus() *status.Status {
	return status.New(codes.Internal, "internal error: the server's log has the details")
}

// logInternal logs the cause of an Internal answer made with Internal.
func logInternal(ctx context.Context, log *slog.Logger, method string, err error) {
	var ie *internalError
	if errors.As(err, &ie) {
		log.ErrorContext(ctx, "internal error", "method", method, "err", ie.cause)
	}
}
