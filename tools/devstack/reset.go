package devstack

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tokenmeter/tokenmeter/services/reporting"
)

// dropDatabase drops the dev stack's ClickHouse database; reporting creates
// it again when it migrates.
func dropDatabase(ctx context.Context, rc reporting.Config) error {
	addr, database := rc.ClickHouseAddr, rc.ClickHouseDatabase
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Username: rc.ClickHouseUser, Password: rc.ClickHousePassword},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("open ClickHouse at %s: %w", addr, err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// The name was already accepted by reporting's migration, which checks it.
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+database+"`"); err != nil {
		return fmt.Errorf("drop ClickHouse database %s: %w", database, err)
	}
	return nil
}
