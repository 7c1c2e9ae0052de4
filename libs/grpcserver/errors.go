package grpcserver

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Violations collects bad fields of a request; Err turns them into one
// InvalidArgument status whose BadRequest details name each field.
type Violations []*errdetails.BadRequest_FieldViolation

// Add records a bad field.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Check records err, if any, against field.
func (v *Violations) Check(field string, err error) {
	if err != nil {
		v.Add(field, "%s", err.Error())
	}
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
	st := status.New(codes.InvalidArgument, msg)
	if withDetails, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: v}); err == nil {
		st = withDetails
	}
	return st.Err()
}
