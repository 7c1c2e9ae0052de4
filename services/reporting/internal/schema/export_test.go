package schema

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// AddColumn adds c where it is missing, as a migration's columns are.
func AddColumn(ctx context.Context, conn driver.Conn, c Column) error {
	return addColumn(ctx, conn, Migration{Version: 99, Name: "test"}, c)
}
