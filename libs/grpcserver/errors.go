package grpcserver

import (
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tokenmeter/tokenmeter/libs/quote"
)

// MaxDescription bounds one violation's description and MaxMessage a status
// message, in bytes: a value quoted with quote.Prefix fits many times over, so
// the bounds only bite on a message that took in a client's value whole.
// MaxViolations bounds how many violations one answer lists.
const (
	MaxDescription = 512
	MaxMessage     = 1024
	MaxViolations  = 32
)

// Violations collects bad fields of a request; Err turns them into one
// InvalidArgument status whose BadRequest details name each field.
type Violations []*errdetails.BadRequest_FieldViolation

// Add records a bad field. A client's value in args must go through
// quote.Prefix; the description is cut to MaxDescription whatever it holds.
func (v *Violations) Add(field, format string, args ...any) {
	desc := quote.Cut(fmt.Sprintf(format, args...), MaxDescription)
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
}

// Check records err, if any, against field.
func (v *Violations) Check(field string, err error) {
	if err != nil {
		v.Add(field, "%s", err.Error())
	}
}

// Invalid is InvalidArgument naming one bad field, for a check that stops at
// the first problem.
func Invalid(field, format string, args ...any) error {
	var v Violations
	v.Add(field, format, args...)
	return v.Err()
}

// Err is nil when no field is bad.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	msg := v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(v)-1)
	}
	st := status.New(codes.InvalidArgument, quote.Cut(msg, MaxMessage))
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: v[:min(len(v), MaxViolations)]}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// Retryable is a status a caller should retry after delay (RetryInfo), with
// the same event id where the call had one: Unavailable while a dependency
// is away, ResourceExhausted while a limit holds.
func Retryable(code codes.Code, delay time.Duration, msg string) error {
	st := status.New(code, quote.Cut(msg, MaxMessage))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); err == nil {
		st = d
	}
	return st.Err()
}
