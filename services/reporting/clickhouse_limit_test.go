package reporting

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenmeter/tokenmeter/libs/testkit"
)

// A query past -clickhouse-max-execution-time is stopped by ClickHouse, not
// left running until the caller gives up.
func TestClickHouseQueriesAreBounded(t *testing.T) {
	_, db := testkit.ClickHouse(t)
	conn, err := openClickHouse(t.Context(), Config{ClickHouseAddr: testkit.ClickHouseAddr(), ClickHouseDatabase: db,
		ClickHouseUser: "default", ClickHouseMaxExecution: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	var sum uint64
	err = conn.QueryRow(t.Context(), "SELECT sum(number) FROM numbers(100000000000)").Scan(&sum)
	if err == nil || !strings.Contains(err.Error(), "159") && !strings.Contains(strings.ToLower(err.Error()), "timeout") {
		t.Fatalf("a 100-billion-row scan with a 1 s limit: got %v (sum %d), want ClickHouse's TIMEOUT_EXCEEDED", err, sum)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("stopped after %s", d)
	}
}
