// Package query validates report requests and builds their ClickHouse SQL.
// Every builder confines its rows to one organisation.
package query

import (
	"fmt"
	"strings"
)

// Violation is one bad field of a request, named as in the request message
// (e.g. "team_ids[2]", "range.from_date").
type Violation struct {
	Field       string
	Description string
}

// InvalidError lists every problem of a request.
type InvalidError struct {
	Violations []Violation
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

func (e *InvalidError) add(field, format string, args ...any) {
	e.Violations = append(e.Violations, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func (e *InvalidError) orNil() error {
	if e == nil || len(e.Violations) == 0 {
		return nil
	}
	return e
}
