package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DefaultClickHouseAddr is where deploy/clickhouse/dev/start.sh serves ClickHouse's
// native protocol.
const DefaultClickHouseAddr = "127.0.0.1:19000"

const clickHouseTimeout = 10 * time.Second

// dropTimeout bounds dropping a test database. Dropping waits for the
// background merges of its tables to stop, and after a benchmark that loaded
// 10 M rows those took longer than clickHouseTimeout.
const dropTimeout = 3 * time.Minute

// ClickHouseAddr returns the native-protocol address of the test ClickHouse:
// $TOKENMETER_CLICKHOUSE_ADDR, or DefaultClickHouseAddr.
func ClickHouseAddr() string {
	if addr := os.Getenv("TOKENMETER_CLICKHOUSE_ADDR"); addr != "" {
		return addr
	}
	return DefaultClickHouseAddr
}

// ClickHouse creates a fresh database test_<random hex> on the ClickHouse at
// ClickHouseAddr and returns a connection whose default database it is, and its name.
// The connection is closed and the database dropped when the test ends. Without a
// reachable ClickHouse the test fails, saying how to start one.
//
// CI runs Debian's ClickHouse 18.16 (see DESIGN.md, "ClickHouse"). With clickhouse-go
// v2 on that server: name the columns in every batch INSERT; insert through
// PrepareBatch, because conn.Exec("INSERT ... VALUES ...") hangs until the context
// deadline; compare a Date column with toDate(?), because a bound time.Time is a
// DateTime and 18.16 compares Date with DateTime wrongly.
func ClickHouse(t testing.TB) (conn driver.Conn, database string) {
	t.Helper()
	return openClickHouse(t, ClickHouseAddr())
}

func openClickHouse(t testing.TB, addr string) (driver.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clickHouseTimeout)
	defer cancel()

	admin, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("testkit: open ClickHouse at %s: %v", addr, err)
	}
	if err := admin.Ping(ctx); err != nil {
		_ = admin.Close()
		t.Fatalf("testkit: no ClickHouse answers at %s (TOKENMETER_CLICKHOUSE_ADDR): %v\n"+
			"start one with `make clickhouse` (or deploy/clickhouse/dev/start.sh) and run the tests again", addr, err)
	}

	database := "test_" + randomHex(8)
	if err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
		_ = admin.Close()
		t.Fatalf("testkit: create ClickHouse database %s: %v", database, err)
	}

	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Database: database},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		dropDatabase(t, admin, database)
		t.Fatalf("testkit: open ClickHouse database %s: %v", database, err)
	}
	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("testkit: close ClickHouse connection: %v", err)
		}
		dropDatabase(t, admin, database)
	})
	return conn, database
}

// dropDatabase drops the test database and closes admin. It runs during cleanup, after
// t.Context() is canceled, so it has its own deadline (dropTimeout).
func dropDatabase(t testing.TB, admin driver.Conn, database string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	start := time.Now()
	if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+database); err != nil {
		t.Errorf("testkit: drop ClickHouse database %s after %s: %v", database, time.Since(start).Round(time.Millisecond), err)
	} else if d := time.Since(start); d > clickHouseTimeout {
		t.Logf("testkit: dropping ClickHouse database %s took %s", database, d.Round(time.Millisecond))
	}
	if err := admin.Close(); err != nil {
		t.Errorf("testkit: close ClickHouse connection: %v", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
