package query

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Unreachable reports whether err says ClickHouse could not be reached or
// dropped the connection (dial refused, reset, EOF, no free connection in
// time), as opposed to refusing the query: the caller may retry the same
// report.
func Unreachable(err error) bool {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout), errors.Is(err, driver.ErrBadConn):
		return true
	}
	return false
}
