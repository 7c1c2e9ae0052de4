package console

import (
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
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

	testkit.RequireWithheldBodyCutOff(t, s.Addr(), "/api/tokenmeter.v1.ReportingService/GetUsageSummary")
}
