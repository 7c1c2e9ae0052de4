// Package schema owns reporting's ClickHouse tables: versioned, idempotent
// migrations recorded in a schema_migrations table.
package schema

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Migration is one step of the schema.
type Migration struct {
	Version uint32
	Name    string
	// Columns are added where missing, before the statements run (18.16
	// has no ADD COLUMN IF NOT EXISTS).
	Columns    []Column
	Statements []string
}

// Column is a column a migration adds to a table; Type may carry a DEFAULT.
type Column struct {
	Table, Name, Type string
}

// Migrations returns every migration in order.
func Migrations() []Migration { return migrations }

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// CheckDatabase returns an error when name cannot be used as a database name.
func CheckDatabase(name string) error {
	if !identPattern.MatchString(name) {
		return fmt.Errorf("database name %q: want letters, digits and '_', starting with a letter or '_'", name)
	}
	return nil
}

// CreateDatabase creates database name if it is missing. conn may be
// connected to any database.
func CreateDatabase(ctx context.Context, conn driver.Conn, name string) error {
	if err := CheckDatabase(name); err != nil {
		return err
	}
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`"); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version UInt32,
	name String,
	applied_at DateTime
) ENGINE = MergeTree
ORDER BY version`

// Migrate applies the migrations missing from the database conn is connected
// to and returns the versions it applied. Concurrent runs are harmless: every
// statement is idempotent.
func Migrate(ctx context.Context, conn driver.Conn) ([]uint32, error) {
	return migrate(ctx, conn, oneServer{})
}

// MigrateNode is Migrate on one node of cluster c, each statement and added
// column laid out by c. Every node records its own schema_migrations.
func MigrateNode(ctx context.Context, conn driver.Conn, c Cluster) ([]uint32, error) {
	return migrate(ctx, conn, c)
}

// layout is where a migration's statements and columns go on a server.
type layout interface {
	// Statements are what one statement of a migration becomes.
	Statements(stmt string) ([]string, error)
	// Tables are the tables a column added to table goes to, in order.
	Tables(table string) []string
}

// oneServer lays the migrations out as written.
type oneServer struct{}

func (oneServer) Statements(stmt string) ([]string, error) { return []string{stmt}, nil }
func (oneServer) Tables(table string) []string             { return []string{table} }

func migrate(ctx context.Context, conn driver.Conn, layout layout) ([]uint32, error) {
	if err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := Applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	var done []uint32
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		if err := addColumns(ctx, conn, m, layout); err != nil {
			return done, err
		}
		for i, stmt := range m.Statements {
			stmts, err := layout.Statements(stmt)
			if err != nil {
				return done, fmt.Errorf("migration %d (%s) statement %d: %w", m.Version, m.Name, i+1, err)
			}
			for _, s := range stmts {
				if err := conn.Exec(ctx, s); err != nil {
					return done, fmt.Errorf("migration %d (%s) statement %d: %w", m.Version, m.Name, i+1, err)
				}
			}
		}
		if err := record(ctx, conn, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

// Applied returns the versions recorded in schema_migrations.
func Applied(ctx context.Context, conn driver.Conn) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}

// record notes m as applied. It inserts through a batch: on 18.16 an
// Exec("INSERT ... VALUES ...") with clickhouse-go v2 hangs until its deadline.
func record(ctx context.Context, conn driver.Conn, m Migration) error {
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	defer batch.Close()
	if err := batch.Append(m.Version, m.Name, time.Now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	return nil
}

// addColumns adds m's columns that the tables do not have yet, so a
// migration interrupted half-way runs again.
func addColumns(ctx context.Context, conn driver.Conn, m Migration, layout layout) error {
	for _, mc := range m.Columns {
		for _, table := range layout.Tables(mc.Table) {
			if err := addColumn(ctx, conn, m, Column{Table: table, Name: mc.Name, Type: mc.Type}); err != nil {
				return err
			}
		}
	}
	return nil
}

func addColumn(ctx context.Context, conn driver.Conn, m Migration, c Column) error {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?",
		c.Table, c.Name).Scan(&n)
	if err != nil {
		return fmt.Errorf("migration %d (%s): columns of %s: %w", m.Version, m.Name, c.Table, err)
	}
	if n > 0 {
		return nil
	}
	err = conn.Exec(ctx, "ALTER TABLE "+c.Table+" ADD COLUMN "+c.Name+" "+c.Type)
	if err != nil && !columnArrives(ctx, conn, c) {
		return fmt.Errorf("migration %d (%s): add %s.%s: %w", m.Version, m.Name, c.Table, c.Name, err)
	}
	return nil
}

// columnArrives reports whether column c shows up within a few seconds: an
// ALTER that another replica of a replicated table (or a concurrent run)
// made first reaches this one asynchronously, and the own ALTER then fails.
func columnArrives(ctx context.Context, conn driver.Conn, c Column) bool {
	for range 20 {
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = ? AND name = ?",
			c.Table, c.Name).Scan(&n)
		if err == nil && n > 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
	return false
}
