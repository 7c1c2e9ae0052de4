package reporting

import (
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/certs"
	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// Reporting reaches a ClickHouse that listens with TLS when told to, verifies
// its certificate, and does not fall back to plaintext.
func TestClickHouseOverTLS(t *testing.T) {
	f := testkit.Certs(t)
	addr := testkit.ClickHouseTLS(t, f)
	cfg := Config{ClickHouseAddr: addr, ClickHouseDatabase: "tokenmeter_tls", ClickHouseUser: "default",
		ClickHouseMaxExecution: time.Minute, ClickHouseTLS: true}
	cfg.TLS = certs.Files{CA: f.CA}
	conn, err := openClickHouse(t.Context(), cfg)
	if err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	var one uint8
	if err := conn.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("a query over TLS: %v %d", err, one)
	}
	_ = conn.Close()

	cfg.TLS = certs.Files{CA: f.OtherCA}
	if conn, err := openClickHouse(t.Context(), cfg); err == nil {
		_ = conn.Close()
		t.Fatal("a server certificate from another CA was accepted")
	}
	cfg.ClickHouseTLS = false
	if conn, err := openClickHouse(t.Context(), cfg); err == nil {
		_ = conn.Close()
		t.Fatal("plaintext reached the TLS port")
	}
}
