package httpapi

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// A client that sends its headers and then trickles (or withholds) the body
// is cut off after the read timeout instead of holding the door for ever;
// oversized headers are refused.
func TestSlowOrHugeRequestsAreCutOff(t *testing.T) {
	s, err := Listen(t.Context(), "127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.http.ReadTimeout = 300 * time.Millisecond
	go func() { _ = s.Serve() }()
	t.Cleanup(func() { _ = s.http.Close() })

	testkit.RequireWithheldBodyCutOff(t, s.Addr(), "/tokenmeter.v1.IngestionService/Launch")

	huge, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer huge.Close()
	_, _ = huge.Write([]byte("POST /tokenmeter.v1.IngestionService/Launch HTTP/1.1\r\nHost: door\r\nX-Pad: " +
		strings.Repeat("a", 200<<10) + "\r\n\r\n"))
	_ = huge.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(huge), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("200 KB of headers: %s, want 431", resp.Status)
	}
}
