package testkit

import (
	"errors"
	"net"
	"testing"
	"time"
)

// RequireWithheldBodyCutOff sends an HTTP server at addr a POST to path whose
// headers promise a body that never comes, and fails the test unless the
// server closes the connection within five seconds (its read timeout must be
// shorter).
func RequireWithheldBodyCutOff(t testing.TB, addr, path string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("POST " + path + " HTTP/1.1\r\nHost: door\r\nContent-Length: 100\r\n\r\n{"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		_, err := conn.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("a connection with a withheld body was still open after 5 s")
		}
		if err != nil {
			return // closed by the server
		}
	}
}
