package console

import (
	"net"
	"testing"
	"time"
)

// The console's door, like ingestion's, cuts off a client that withholds
// its body (the body is read before the admin's key is checked).
func TestWithheldBodyIsCutOff(t *testing.T) {
	s, err := Listen(t.Context(), Config{Listen: "127.0.0.1:0", ReportingAddr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s.http.ReadTimeout = 300 * time.Millisecond
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { _ = s.http.Close() })

	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("POST /api/tokenmeter.v1.ReportingService/GetUsageSummary HTTP/1.1\r\nHost: console\r\nContent-Length: 100\r\n\r\n{"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("a connection with a withheld body was still open after 5 s")
			}
			return
		}
	}
}
